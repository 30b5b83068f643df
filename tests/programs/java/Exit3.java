public class Exit3 {
    public static void main(String[] args) {
        System.out.println("leaving with 3");
        System.exit(3);
    }
}
