import java.util.ArrayList;
import java.util.List;

public class MemoryHog {
    public static void main(String[] args) {
        List<byte[]> blocks = new ArrayList<>();
        while (true) {
            blocks.add(new byte[1024 * 1024]);
        }
    }
}
