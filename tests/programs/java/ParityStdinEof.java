import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;

// Reads stdin to its end, then once more past it.
public class ParityStdinEof {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder all = new StringBuilder();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            all.append('[').append(line).append(']');
        }
        System.out.println(all + " then " + in.readLine() + " " + System.in.read());
    }
}
