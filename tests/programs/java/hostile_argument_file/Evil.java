import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.TypeElement;

// An annotation processor: if javac ever loads it, its code runs inside javac (under the compile
// limits, as the compiler's uid) and prints the marker on javac's stderr.
public class Evil extends AbstractProcessor {
    static {
        System.err.println("EVIL: user code ran inside javac");
    }

    @Override
    public Set<String> getSupportedAnnotationTypes() {
        return Set.of("*");
    }

    @Override
    public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        return false;
    }
}
