import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.StringTokenizer;

public class Accepted {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringTokenizer tokens = new StringTokenizer(in.readLine() + " " + in.readLine());
        int n = Integer.parseInt(tokens.nextToken());
        long total = 0;
        for (int i = 0; i < n; i++) total += Long.parseLong(tokens.nextToken());
        System.out.println(total);
    }
}
