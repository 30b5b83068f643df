// Starts threads that never end until the process limit refuses one, then reports the count.
public class HostileThreadBomb {
    public static void main(String[] args) {
        int count = 0;
        while (true) {
            try {
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        // exit
                    }
                });
                t.setDaemon(true);
                t.start();
                count++;
            } catch (OutOfMemoryError e) {
                System.out.println("refused after " + count + " threads");
                System.exit(0);
            }
            if (count > 100000) {
                System.out.println("never refused");
                System.exit(0);
            }
        }
    }
}
