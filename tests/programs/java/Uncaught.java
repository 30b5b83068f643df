public class Uncaught {
    public static void main(String[] args) {
        throw new IllegalStateException("boom");
    }
}
