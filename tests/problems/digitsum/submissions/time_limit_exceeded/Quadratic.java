import java.util.Scanner;

public class Quadratic {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        while (in.hasNextLine()) {
            String line = in.nextLine().trim();
            // Walks the line once per digit of a huge count on long lines; the running total
            // is used afterwards so that the JIT cannot drop the loop.
            long rounds = line.length() > 100 ? 1L << 40 : 1;
            long total = 0;
            for (long round = 0; round < rounds; round++) {
                for (int i = 0; i < line.length(); i++) total += line.charAt(i) - '0';
            }
            System.out.println(total / rounds);
        }
    }
}
