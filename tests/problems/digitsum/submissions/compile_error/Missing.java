public class Missing {
    public static void main(String[] args) {
        System.out.println(sum(args)
    }
}
