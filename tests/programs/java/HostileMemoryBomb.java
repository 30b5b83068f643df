// Holds ever more memory.
import java.util.ArrayList;
import java.util.List;

public class HostileMemoryBomb {
    public static void main(String[] args) {
        List<long[]> held = new ArrayList<>();
        while (true) {
            held.add(new long[1 << 20]);
        }
    }
}
