// An exit code from System.exit, output without a final newline on both streams, and a
// shutdown hook that still prints.
public class ParityExitCodes {
    public static void main(String[] args) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.print(" | hook")));
        System.out.print("no newline on stdout");
        System.err.print("no newline on stderr");
        System.exit(42);
    }
}
