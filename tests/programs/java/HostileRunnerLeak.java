import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two runs from runners, one after the other. {@code plant}: keeps what it reads on stdin in
 * memory and writes it into files in every place a run might write. {@code scan HEX...}: lists
 * those places for the planted files and looks for secrets in every resident page of its own
 * memory (what it inherited from the runner it was started from). The secrets come as hex of
 * their bytes XOR 0x5A, so this process never holds one itself: it compares each byte of its
 * memory, XOR 0x5A, with them, and never makes a XORed copy.
 */
public class HostileRunnerLeak {
    static byte[] planted;

    public static void main(String[] args) throws Exception {
        byte[] held = System.in.readAllBytes(); // the control for the search
        String[] places = {
            System.getProperty("user.dir"), System.getenv("TMPDIR"), System.getenv("HOME"),
            "/tmp", "/var/tmp", "/dev/shm"
        };
        if (args[0].equals("plant")) {
            boolean written = false;
            for (int i = 0; i < places.length; i++) {
                try {
                    Files.write(Path.of(places[i], "planted-" + i), held);
                    written = true;
                } catch (Exception notHere) {
                    // a place this run may not write: nothing left there
                }
            }
            planted = held;
            System.out.println("planted: " + written);
            return;
        }
        TreeSet<String> files = new TreeSet<>();
        for (String place : places) {
            try (var names = Files.list(Path.of(place))) {
                names.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith("planted-"))
                        .forEach(files::add);
            } catch (Exception notReadable) {
                // nothing of another run can be found there either
            }
        }
        byte[][] needles = new byte[args.length - 1][];
        for (int i = 1; i < args.length; i++) {
            needles[i - 1] = hex(args[i]);
        }
        Pattern header = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) (\\S+)(?: +\\S+){3} *(.*)$");
        List<long[]> regions = new ArrayList<>();
        long[] region = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            Matcher m = header.matcher(line);
            if (m.matches()) {
                String name = m.group(4);
                boolean readable = m.group(3).charAt(0) == 'r'
                        && !name.equals("[vvar]") && !name.equals("[vsyscall]")
                        && !name.equals("[vvar_vclock]");
                region = new long[] {
                    Long.parseUnsignedLong(m.group(1), 16), Long.parseUnsignedLong(m.group(2), 16),
                    readable ? 1 : 0, 0
                };
                regions.add(region);
            } else if (region != null && line.startsWith("Rss:")) {
                region[3] = Long.parseLong(line.split("\\s+")[1]);
            }
        }
        TreeSet<Integer> found = new TreeSet<>();
        int page = 4096;
        byte[] chunk = new byte[page * 256];
        try (RandomAccessFile mem = new RandomAccessFile("/proc/self/mem", "r");
                RandomAccessFile pagemap = new RandomAccessFile("/proc/self/pagemap", "r")) {
            for (long[] r : regions) {
                if (r[2] == 0 || r[3] == 0) {
                    continue;
                }
                // Only the pages present (or swapped out): the others hold nothing yet.
                long pages = (r[1] - r[0]) / page;
                byte[] entries = new byte[(int) pages * 8];
                pagemap.seek(r[0] / page * 8);
                pagemap.readFully(entries);
                for (long p = 0; p < pages; ) {
                    if ((entries[(int) p * 8 + 7] & 0xC0) == 0) {
                        p++;
                        continue;
                    }
                    long run = p;
                    while (run < pages && run - p < chunk.length / page - 1
                            && (entries[(int) run * 8 + 7] & 0xC0) != 0) {
                        run++;
                    }
                    // One page more when there is one, so that a secret across the end is seen.
                    long end = Math.min(pages, run + 1);
                    int size = (int) ((end - p) * page);
                    int read;
                    try {
                        mem.seek(r[0] + p * page);
                        read = mem.read(chunk, 0, size);
                    } catch (Exception unreadable) {
                        read = 0;
                    }
                    for (int i = 0; i < needles.length; i++) {
                        if (read > 0 && containsXored(chunk, read, needles[i])) {
                            found.add(i);
                        }
                    }
                    p = run;
                }
            }
        }
        System.out.println("found: " + found);
        System.out.println("files: " + files);
        System.out.println("held: " + held.length);
    }

    /** Whether {@code haystack}'s first {@code length} bytes, XOR 0x5A, hold {@code needle}. */
    static boolean containsXored(byte[] haystack, int length, byte[] needle) {
        byte first = (byte) (needle[0] ^ 0x5a);
        outer:
        for (int i = 0; i + needle.length <= length; i++) {
            if (haystack[i] != first) {
                continue;
            }
            for (int j = 1; j < needle.length; j++) {
                if ((byte) (haystack[i + j] ^ 0x5a) != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    static byte[] hex(String text) {
        byte[] bytes = new byte[text.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
