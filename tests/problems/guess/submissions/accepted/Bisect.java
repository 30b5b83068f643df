import java.io.BufferedReader;
import java.io.InputStreamReader;

public class Bisect {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        long low = 1, high = Long.parseLong(in.readLine().trim());
        while (low < high) {
            long middle = (low + high) / 2;
            System.out.println("? " + middle);
            System.out.flush();
            String reply = in.readLine().trim();
            if (reply.equals("=")) {
                low = high = middle;
            } else if (reply.equals("<")) {
                high = middle - 1;
            } else {
                low = middle + 1;
            }
        }
        System.out.println("! " + low);
        System.out.flush();
    }
}
