public class HostileOutputFlood {
    public static void main(String[] args) {
        String line = "A".repeat(4096);
        while (true) System.out.println(line);
    }
}
