public class Ärger {
    public static void main(String[] args) {
        System.out.println("Ärger");
    }
}
