public class SomethingElse {
    public static void main(String[] args) {
        System.out.println("x");
    }
}
