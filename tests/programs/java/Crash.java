import java.lang.reflect.Field;
import sun.misc.Unsafe;

public class Crash {
    public static void main(String[] args) throws Exception {
        Field field = Unsafe.class.getDeclaredField("theUnsafe");
        field.setAccessible(true);
        Unsafe unsafe = (Unsafe) field.get(null);
        unsafe.putAddress(0, 0); // write to address 0: the JVM dies of SIGSEGV, then aborts
    }
}
