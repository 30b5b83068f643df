// An uncaught exception in another thread: printed with that thread's name; main ends well,
// so the exit code is 0.
public class ParityThreadException {
    public static void main(String[] args) throws InterruptedException {
        Thread worker = new Thread(() -> {
            throw new ArithmeticException("in the worker");
        }, "worker-1");
        worker.start();
        worker.join();
        System.out.println("main ends normally");
    }
}
