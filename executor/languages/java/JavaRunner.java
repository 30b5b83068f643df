package executor.runner;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Set;
import jdk.internal.vm.annotation.Hidden;

/**
 * The Java runner (executor/sandbox/runner.py has the protocol): a JVM started ahead with the
 * flags of a cold run, in the run's directory, that waits for the main class and its arguments,
 * then runs it as {@code java -cp . Main ARGS} would.
 *
 * <p>It is on the boot class path ({@code -Xbootclasspath/a}), so that {@code java.class.path}
 * stays {@code .} and the JVM honours {@code @Hidden} on its methods: their frames are left out
 * of every stack trace and stack walk, and the program's {@code main} sits at the bottom of the
 * main thread's stack, as when the launcher calls it. What it cannot run exactly as the
 * launcher would (no such class, no {@code public static void main(String[])}: the launcher's
 * own error messages) it declines before running anything of it, and the service starts the
 * run cold.
 */
public final class JavaRunner {
    private static final MethodType MAIN = MethodType.methodType(void.class, String[].class);
    // A class name that is never a program's: looked up once while idle, to open the class path.
    private static final String ABSENT = "executor.runner.Absent$";

    private JavaRunner() {}

    @Hidden
    public static void main(String[] descriptors) throws Throwable {
        DataInputStream control =
                new DataInputStream(new FileInputStream("/proc/self/fd/" + descriptors[0]));
        OutputStream status = new FileOutputStream("/proc/self/fd/" + descriptors[1]);
        warmUp();
        status.write('r');
        String[] items;
        try {
            items = readFrame(control);
        } catch (EOFException gone) {
            Runtime.getRuntime().halt(0); // the service is gone
            return;
        }
        Class<?> mainClass;
        MethodHandle main;
        try {
            mainClass = Class.forName(items[0], false, ClassLoader.getSystemClassLoader());
            Method method = mainClass.getMethod("main", String[].class);
            if (!Modifier.isStatic(method.getModifiers()) || method.getReturnType() != void.class) {
                throw new NoSuchMethodException("main");
            }
            main = MethodHandles.privateLookupIn(mainClass, MethodHandles.lookup())
                    .findStatic(method.getDeclaringClass(), "main", MAIN);
        } catch (Throwable notAsTheLauncher) {
            status.write('c'); // the launcher's own message, from a cold run
            Runtime.getRuntime().halt(0);
            return;
        }
        System.setProperty("sun.java.command", String.join(" ", items));
        status.write('g');
        status.close();
        control.close();
        initialize(mainClass);
        main.invokeExact(Arrays.copyOfRange(items, 1, items.length));
    }

    /**
     * Run the class's static initializers, as the launcher does before {@code main} (from
     * native code: nothing of the launcher shows below {@code <clinit>}). What they throw
     * leaves with the frames of {@code Class.forName} taken off every trace.
     */
    @Hidden
    private static void initialize(Class<?> mainClass) throws Throwable {
        try {
            Class.forName(mainClass.getName(), true, mainClass.getClassLoader());
        } catch (Throwable thrown) {
            Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            Deque<Throwable> pending = new ArrayDeque<>();
            pending.push(thrown);
            while (!pending.isEmpty()) {
                Throwable next = pending.pop();
                if (!seen.add(next)) {
                    continue;
                }
                StackTraceElement[] trace = next.getStackTrace();
                int end = trace.length;
                while (end > 0
                        && trace[end - 1].getClassName().equals("java.lang.Class")
                        && trace[end - 1].getMethodName().startsWith("forName")) {
                    end--;
                }
                if (end < trace.length) {
                    next.setStackTrace(Arrays.copyOf(trace, end));
                }
                if (next.getCause() != null) {
                    pending.push(next.getCause());
                }
                for (Throwable suppressed : next.getSuppressed()) {
                    pending.push(suppressed);
                }
            }
            throw thrown;
        }
    }

    private static String[] readFrame(DataInputStream control) throws IOException {
        String[] items = new String[control.readInt()];
        for (int i = 0; i < items.length; i++) {
            byte[] item = new byte[control.readInt()];
            control.readFully(item);
            items[i] = new String(item, StandardCharsets.UTF_8);
        }
        if (items.length == 0) {
            throw new EOFException();
        }
        return items;
    }

    /** What the go signal needs, done while idle: method handles, reflection, the class path. */
    private static void warmUp() throws Throwable {
        Method method = JavaRunner.class.getDeclaredMethod("idle", String[].class);
        MethodHandle idle = MethodHandles.privateLookupIn(JavaRunner.class, MethodHandles.lookup())
                .findStatic(method.getDeclaringClass(), "idle", MAIN);
        idle.invokeExact(new String[] {"warm", "up"});
        try {
            Class.forName(ABSENT, false, ClassLoader.getSystemClassLoader());
        } catch (ClassNotFoundException expected) {
            // the class path is open
        }
        String.join(" ", "warm", "up").getBytes(StandardCharsets.UTF_8);
    }

    private static void idle(String[] args) {}
}
