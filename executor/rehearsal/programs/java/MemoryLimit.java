import java.util.ArrayList;
import java.util.List;

public class MemoryLimit {
    public static void main(String[] args) {
        List<long[]> chunks = new ArrayList<>();
        while (true) chunks.add(new long[1 << 20]);
    }
}
