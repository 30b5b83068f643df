public class TimeLimit {
    static volatile long total;

    public static void main(String[] args) {
        while (total >= 0) total++;
    }
}
