import java.util.List;

// Nested conditionals as arguments of an overloaded generic method: javac's inference is
// exponential in the depth (depth 8 takes ~6 s, depth 10 ~22 s, depth 12 ~60 s on one core).
public class JavacBomb {
    static <T> T m(T t) {
        return t;
    }

    static <T extends Comparable<T>> T m(List<T> t) {
        return null;
    }

    public static void main(String[] args) {
        boolean b = args.length > 0;
        Object o = m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? m(b ? 1 : 1) : 1) : 1) : 1) : 1) : 1) : 1) : 1) : 1) : 1) : 1) : 1);
        System.out.println(o);
    }
}
