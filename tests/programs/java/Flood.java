import java.io.BufferedOutputStream;
import java.io.PrintStream;

public class Flood {
    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16));
        String line = "x".repeat(1023);
        while (true) {
            out.println(line);
        }
    }
}
