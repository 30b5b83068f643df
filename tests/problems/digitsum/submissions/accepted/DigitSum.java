import java.io.BufferedReader;
import java.io.InputStreamReader;

public class DigitSum {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder out = new StringBuilder();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            int sum = 0;
            for (char c : line.trim().toCharArray()) sum += c - '0';
            out.append(sum).append('\n');
        }
        System.out.print(out);
    }
}
