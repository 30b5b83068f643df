// Starts threads until the process limit refuses one, and lets the JVM's
// "unable to create native thread" OutOfMemoryError end it: the process limit, not memory.
public class ThreadsPastTheLimit {
    public static void main(String[] args) {
        while (true) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    // exit
                }
            });
            t.setDaemon(true);
            t.start();
        }
    }
}
