import java.io.IOException;
import java.io.UncheckedIOException;

// An uncaught exception with a chain of causes and a suppressed one: the launcher prints
// them all, with "... n more" where the traces meet.
public class ParityChained {
    static void read() throws IOException {
        throw new IOException("disk unreadable");
    }

    static void load() {
        try {
            read();
        } catch (IOException e) {
            UncheckedIOException wrapped = new UncheckedIOException("load failed", e);
            wrapped.addSuppressed(new IllegalStateException("cleanup failed too"));
            throw new RuntimeException("could not start", wrapped);
        }
    }

    public static void main(String[] args) {
        System.out.println("starting");
        load();
    }
}
