import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.StringTokenizer;

public class WrongAnswer {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringTokenizer tokens = new StringTokenizer(in.readLine() + " " + in.readLine());
        int n = Integer.parseInt(tokens.nextToken());
        int total = 0;
        for (int i = 0; i < n - 1; i++) total += Integer.parseInt(tokens.nextToken()); // off by one
        System.out.println(total);
    }
}
