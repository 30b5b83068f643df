import java.util.Scanner;

public class Area {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        while (in.hasNextLine()) {
            String line = in.nextLine().trim();
            if (line.isEmpty()) continue;
            double r = Double.parseDouble(line);
            // Java prints small doubles in scientific notation (3.14E-8): still a decimal float.
            System.out.println(Math.PI * r * r);
        }
    }
}
