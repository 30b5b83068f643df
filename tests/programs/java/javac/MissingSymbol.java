public class MissingSymbol {
    public static void main(String[] args) {
        System.out.println(undefinedVariable);
        new Nowhere();
    }
}
