import java.util.Arrays;

// What a program sees of itself: its arguments, the launcher's properties, its class loader,
// its thread, its stack, its environment's names.
public class ParityIntrospection {
    public static void main(String[] args) {
        System.out.println(Arrays.toString(args) + " " + System.getProperty("sun.java.command"));
        System.out.println(System.getProperty("java.class.path") + " "
                + System.getProperty("jdk.boot.class.path.append") + " "
                + System.getProperty("java.io.tmpdir").endsWith("/tmp"));
        System.out.println(ParityIntrospection.class.getClassLoader().getName() + " "
                + Thread.currentThread().getName() + " "
                + Thread.currentThread().getThreadGroup().getName() + " "
                + Thread.currentThread().getContextClassLoader().getName());
        System.out.println(Arrays.toString(new Throwable().getStackTrace()));
        System.out.println(Arrays.toString(Thread.currentThread().getStackTrace()));
        StackWalker.getInstance().forEach(frame -> System.out.println("frame " + frame));
        System.out.println(new java.util.TreeSet<>(System.getenv().keySet()));
        System.out.println(System.getProperty("user.dir").endsWith("/box"));
    }
}
