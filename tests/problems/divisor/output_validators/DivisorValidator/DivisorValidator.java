import java.io.FileWriter;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Scanner;

/** Output validator: accepts any proper divisor of n greater than 1. */
public class DivisorValidator {
    static void judge(String feedbackDir, String message, int code) throws IOException {
        try (FileWriter out = new FileWriter(Path.of(feedbackDir, "judgemessage.txt").toFile())) {
            out.write(message + "\n");
        }
        System.exit(code);
    }

    public static void main(String[] args) throws IOException {
        BigInteger n = new BigInteger(Files.readString(Path.of(args[0])).trim());
        Scanner team = new Scanner(System.in);
        if (!team.hasNext()) judge(args[2], "no answer", 43);
        String token = team.next();
        if (team.hasNext()) judge(args[2], "more than one token", 43);
        BigInteger d;
        try {
            d = new BigInteger(token);
        } catch (NumberFormatException e) {
            judge(args[2], "not an integer: " + token, 43);
            return;
        }
        if (d.compareTo(BigInteger.ONE) <= 0 || d.compareTo(n) >= 0) {
            judge(args[2], d + " is not between 1 and " + n, 43);
        }
        if (!n.mod(d).equals(BigInteger.ZERO)) judge(args[2], d + " does not divide " + n, 43);
        judge(args[2], "ok", 42);
    }
}
