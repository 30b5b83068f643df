public class TypeError {
    public static void main(String[] args) {
        int x = "not a number";
        String s = 42;
    }
}
