// Much output in small writes, then Runtime.halt: what System.out has written reaches stdout.
public class ParityFlushAtExit {
    public static void main(String[] args) {
        for (int i = 0; i < 2000; i++) {
            System.out.println("line " + i + " of the output written before exit");
        }
        System.out.print("the last one, no newline");
        System.out.flush();
        Runtime.getRuntime().halt(3);
    }
}
