public class Deprecated {
    public static void main(String[] args) {
        Integer boxed = new Integer(3);
        System.out.println(boxed);
    }
}
