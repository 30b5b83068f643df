import java.util.Scanner;

public class Twice {
    public static void main(String[] args) {
        System.out.println(2 * new Scanner(System.in).nextLong());
    }
}
