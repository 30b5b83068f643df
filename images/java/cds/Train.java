// Compiled once at image build time so that javac's JVM records the classes it loads into a
// class-data-sharing archive. It uses the language features typical submissions use, so that
// the compiler's code for them (generics inference, lambdas, records, switch expressions, string
// concatenation, try-with-resources) is in the archive; running it is a sanity check only.
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Scanner;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

public class Train {
    enum Kind { SMALL, LARGE }

    record Point(int x, int y) implements Comparable<Point> {
        public int compareTo(Point other) {
            return Integer.compare(x * x + y * y, other.x * other.x + other.y * other.y);
        }
    }

    interface Shape {
        double area();
    }

    static <T extends Comparable<T>> T largest(List<T> items) {
        T best = items.get(0);
        for (T item : items) {
            if (item.compareTo(best) > 0) {
                best = item;
            }
        }
        return best;
    }

    static Kind classify(int n) {
        return switch (n % 2) {
            case 0 -> Kind.SMALL;
            default -> Kind.LARGE;
        };
    }

    public static void main(String[] args) throws IOException {
        List<Point> points = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            points.add(new Point(i, 10 - i));
        }
        points.sort(Comparator.comparingInt(Point::x).reversed());
        Map<Kind, List<Integer>> byKind = IntStream.range(0, 20).boxed()
                .collect(Collectors.groupingBy(Train::classify));
        Map<String, Integer> counts = new HashMap<>();
        for (String word : "a b a c b a".split(" ")) {
            counts.merge(word, 1, Integer::sum);
        }
        TreeMap<String, Integer> sorted = new TreeMap<>(counts);
        long[] values = new long[] {5, 3, 9, 1};
        Arrays.sort(values);
        Shape circle = () -> Math.PI * 2 * 2;
        StringBuilder out = new StringBuilder();
        out.append(String.format("%.3f %s %s%n", circle.area(), largest(points), sorted));
        out.append(byKind.get(Kind.SMALL).size() + " " + Arrays.toString(values) + "\n");
        String text = """
                text block
                """;
        Optional<String> first = points.stream().map(Point::toString).findFirst();
        out.append(text.strip()).append(' ').append(first.orElse("none")).append('\n');
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(System.in))) {
            String line = reader.readLine();
            out.append(line == null ? "no input" : line).append('\n');
        }
        Scanner scanner = new Scanner("1 2 3");
        int sum = 0;
        while (scanner.hasNextInt()) {
            sum += scanner.nextInt();
        }
        try {
            Object o = null;
            o.hashCode();
        } catch (NullPointerException e) {
            sum += 1;
        }
        out.append(sum);
        System.out.println(out);
    }
}
