// An exception in a static initializer: ExceptionInInitializerError, its cause's trace ending
// at <clinit>, exit code 1.
public class ParityStaticThrow {
    static final int VALUE = compute();

    static int compute() {
        throw new IllegalArgumentException("no value for the static field");
    }

    public static void main(String[] args) {
        System.out.println(VALUE);
    }
}
