package contest.solution;

public class Packaged {
    public static void main(String[] args) {
        System.out.println(new Inner().value());
    }

    static class Inner {
        int value() {
            return 42;
        }
    }
}
