import java.util.Scanner;

public class Halves {
    public static void main(String[] args) {
        long n = new Scanner(System.in).nextLong();
        long a = (n - 1) / 2;
        System.out.println(a + " " + (n - a));
    }
}
