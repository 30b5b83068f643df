import java.util.ArrayList;
import java.util.List;

public class Unchecked {
    @SuppressWarnings("rawtypes")
    static List raw() {
        return new ArrayList();
    }

    public static void main(String[] args) {
        List<String> list = raw();
        list.add("ünïcödé ✓");
        System.out.println(list);
    }
}
