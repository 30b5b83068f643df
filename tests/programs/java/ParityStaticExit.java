// System.exit in a static initializer: the program ends there, with its code, before main.
public class ParityStaticExit {
    static {
        System.out.print("in the static initializer");
        System.exit(4);
    }

    public static void main(String[] args) {
        System.out.println("never printed");
    }
}
