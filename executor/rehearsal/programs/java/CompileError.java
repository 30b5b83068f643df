public class CompileError {
    public static void main(String[] args) {
        int total = "zero";
        System.out.println(total)
    }
}
