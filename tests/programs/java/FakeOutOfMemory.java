// Prints the JVM's out-of-memory line on stdout and fails, at a few MB: no evidence.
public class FakeOutOfMemory {
    public static void main(String[] args) {
        System.out.println("Terminating due to java.lang.OutOfMemoryError: Java heap space");
        System.exit(3);
    }
}
