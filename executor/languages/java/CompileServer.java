/*
 * A long-lived javac: reads compile requests on stdin, answers on stdout. Started by the
 * executor service (executor/warm_server.py, as described by executor/languages/java/plan.py)
 * as an unprivileged uid in the sandbox.
 *
 * Sources and classes stay in memory: the server never reads or writes a file of a run. Options
 * are fixed here (-proc:none: no annotation processors, so no user code runs at compile time);
 * nothing in a request can add one.
 *
 * Every message is one frame: an int length, then that many bytes (big-endian, as DataInput
 * and DataOutput write them). Names and texts are UTF-8, each an int length then its bytes.
 *   request : the budget (int diagnosticsBytes, int artifactBytes, int artifactFiles,
 *             int artifactFileBytes), int fileCount, then per file: name, int length, bytes
 *   response: int exitCode (0 ok, 1 errors, 4 javac crashed, like javac), int flags, the
 *             diagnostics (exactly as javac prints them, cut at diagnosticsBytes), int classCount,
 *             then per class: path ("pkg/Name$Inner.class"), int length, bytes
 * The flags say why an answer is not javac's whole word: DIAGNOSTICS_CUT (javac was stopped once
 * its messages filled diagnosticsBytes), OVER_BUDGET (the classes would pass artifactBytes,
 * counting each one's path and content plus 8 bytes, artifactFiles, or for one class
 * artifactFileBytes: none is sent), FAILED (the server could not handle the request; the
 * diagnostics say why). So a response never exceeds 16 + diagnosticsBytes + artifactBytes.
 * Any request gets an answer: the server ends only when its input does, or it cannot write.
 * At start, after warming javac up, the server writes one response to a built-in program so the
 * service knows it is ready.
 */

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;

public final class CompileServer {
    static final int DIAGNOSTICS_CUT = 1;
    static final int OVER_BUDGET = 2;
    static final int FAILED = 4;
    private static final List<String> OPTIONS = List.of("-proc:none", "-encoding", "UTF-8");
    private static final String WARM_UP_SOURCE =
        "import java.util.*;\npublic class Main {\n  public static void main(String[] a) {\n"
        + "    List<String> l = new ArrayList<>(); l.add(\"hello\");\n"
        + "    for (String s : l) System.out.println(s);\n  }\n}\n";
    // The built-in program's answer fits well within this.
    private static final Budget WARM_UP_BUDGET = new Budget(1 << 16, 1 << 20, 16, 1 << 20);
    // What a FAILED answer keeps of the reason, when the request's own budget is unknown.
    private static final int FAILURE_BYTES = 1 << 14;

    private final JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    private final StandardJavaFileManager standard =
        compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);

    public static void main(String[] args) throws IOException {
        int warmUps = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        CompileServer server = new CompileServer();
        // No class path: user code may only refer to its own sources and the JDK.
        server.standard.setLocation(StandardLocation.CLASS_PATH, List.of());
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(System.out, 1 << 16));
        Map<String, byte[]> warm = Map.of("Main.java", WARM_UP_SOURCE.getBytes(StandardCharsets.UTF_8));
        Result result = null;
        for (int i = 0; i <= warmUps; i++) {
            result = server.compile(warm, WARM_UP_BUDGET);
        }
        result.writeTo(out);
        while (true) {
            byte[] frame;
            try {
                frame = readFrame(in);
            } catch (EOFException closed) {
                return;
            }
            Result answer;
            try {
                Request request = Request.parse(frame);
                answer = server.compile(request.sources, request.budget);
            } catch (Throwable failure) {
                // Whatever a request does to the server's own code (and javac's errors that
                // escape it), the next request still gets an answer.
                answer = Result.failed(failure);
            }
            answer.writeTo(out);
        }
    }

    private static byte[] readFrame(DataInputStream frames) throws IOException {
        int length = frames.readInt();
        if (length < 0) {
            throw new IOException("frame of negative length " + length);
        }
        byte[] frame = new byte[length];
        frames.readFully(frame);
        return frame;
    }

    private Result compile(Map<String, byte[]> sources, Budget budget) {
        List<JavaFileObject> units = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : sources.entrySet()) {
            units.add(new Source(e.getKey(), new String(e.getValue(), StandardCharsets.UTF_8)));
        }
        Classes classes = new Classes(standard, budget);
        CappedWriter diagnostics = new CappedWriter(budget.diagnosticsBytes);
        boolean ok;
        try {
            ok = compiler.getTask(new PrintWriter(diagnostics), classes, null, OPTIONS, null, units).call();
        } catch (RuntimeException crash) {
            if (classes.overBudget) {
                return new Result(1, OVER_BUDGET, new byte[0], Map.of());
            }
            if (diagnostics.full) {
                return new Result(1, DIAGNOSTICS_CUT, diagnostics.bytes(), Map.of());
            }
            // javac's own failure ("An exception has occurred in the compiler"): exit 4 like javac.
            return new Result(4, 0, Result.trace(crash, budget.diagnosticsBytes), Map.of());
        }
        byte[] kept = diagnostics.bytes();
        if (diagnostics.full) {
            return new Result(1, DIAGNOSTICS_CUT, kept, Map.of());
        }
        if (classes.overBudget) {
            return new Result(ok ? 0 : 1, OVER_BUDGET, new byte[0], Map.of());
        }
        return new Result(ok ? 0 : 1, 0, kept, ok ? classes.output : Map.of());
    }

    /** What one compile may answer with (see the header). */
    private record Budget(int diagnosticsBytes, int artifactBytes, int artifactFiles, int artifactFileBytes) {}

    private record Request(Budget budget, Map<String, byte[]> sources) {
        static Request parse(byte[] frame) throws IOException {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(frame));
            Budget budget = new Budget(in.readInt(), in.readInt(), in.readInt(), in.readInt());
            int count = in.readInt();
            Map<String, byte[]> sources = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                String name = new String(readBytes(in), StandardCharsets.UTF_8);
                sources.put(name, readBytes(in));
            }
            return new Request(budget, sources);
        }

        private static byte[] readBytes(DataInputStream in) throws IOException {
            int length = in.readInt();
            if (length < 0 || length > in.available()) {
                throw new IOException("malformed request: a length of " + length);
            }
            byte[] bytes = new byte[length];
            in.readFully(bytes);
            return bytes;
        }
    }

    /** A source held in memory, named as the file javac would have been given. */
    private static final class Source extends SimpleJavaFileObject {
        private final String name;
        private final String text;

        Source(String name, String text) {
            super(memoryUri(name), Kind.SOURCE);
            this.name = name;
            this.text = text;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return text;
        }
    }

    /** A URI holding any file name (the multi-argument constructor quotes what needs it):
     * javac compares its path with a public class's name. */
    static URI memoryUri(String path) {
        try {
            return new URI("mem", null, "/" + path, null);
        } catch (URISyntaxException impossible) {
            throw new IllegalArgumentException(impossible);
        }
    }

    /** Keeps every class javac writes, keyed by its relative path, within the budget: past it
     * a write stops javac and nothing is kept. */
    private static final class Classes extends ForwardingJavaFileManager<StandardJavaFileManager> {
        final Map<String, byte[]> output = new LinkedHashMap<>();
        private final Budget budget;
        private long usedBytes;
        private int opened;
        boolean overBudget;

        Classes(StandardJavaFileManager standard, Budget budget) {
            super(standard);
            this.budget = budget;
        }

        @Override
        public JavaFileObject getJavaFileForOutput(
                Location location, String className, JavaFileObject.Kind kind, FileObject sibling) {
            String path = className.replace('.', '/') + kind.extension;
            return new SimpleJavaFileObject(memoryUri(path), kind) {
                @Override
                public OutputStream openOutputStream() throws IOException {
                    if (++opened > budget.artifactFiles) {
                        overBudget = true;
                    }
                    return new Output(path);
                }
            };
        }

        private final class Output extends OutputStream {
            private final String path;
            private final long pathBytes;
            private final ByteArrayOutputStream kept = new ByteArrayOutputStream();

            Output(String path) {
                this.path = path;
                this.pathBytes = path.getBytes(StandardCharsets.UTF_8).length + 8L;
            }

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                long size = kept.size() + (long) len;
                if (overBudget || size > budget.artifactFileBytes
                        || usedBytes + pathBytes + size > budget.artifactBytes) {
                    overBudget = true;
                    output.clear();
                    // Unchecked, so that javac stops instead of going on to the next class.
                    throw new OverBudget();
                }
                kept.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                if (!overBudget) {
                    usedBytes += pathBytes + kept.size();
                    output.put(path, kept.toByteArray());
                }
            }
        }
    }

    /** Keeps javac's messages up to a byte budget; past it, every write stops the compile. */
    private static final class CappedWriter extends Writer {
        private final int limit;
        private final StringBuilder text = new StringBuilder();
        boolean full;

        CappedWriter(int limit) {
            this.limit = limit;
        }

        @Override
        public void write(char[] chars, int off, int len) {
            // Every character takes at least one byte: past `limit` characters the bytes are
            // past it too (bytes() cuts the rest).
            if (full || text.length() + len > limit) {
                text.append(chars, off, Math.max(0, Math.min(len, limit - text.length())));
                full = true;
                throw new DiagnosticsFull();
            }
            text.append(chars, off, len);
        }

        byte[] bytes() {
            byte[] all = text.toString().getBytes(StandardCharsets.UTF_8);
            if (all.length > limit) {
                full = true;
                return Arrays.copyOf(all, limit);
            }
            return all;
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }

    /** Thrown through javac to stop it once its classes pass their budget. */
    private static final class OverBudget extends RuntimeException {
        OverBudget() {
            super("the compiled classes are over their budget", null, false, false);
        }
    }

    /** Thrown through javac to stop it once its messages fill their budget. */
    private static final class DiagnosticsFull extends RuntimeException {
        DiagnosticsFull() {
            super("the compiler's messages reached their limit", null, false, false);
        }
    }

    private record Result(int exitCode, int flags, byte[] diagnostics, Map<String, byte[]> classes) {
        static Result failed(Throwable failure) {
            return new Result(4, FAILED, trace(failure, FAILURE_BYTES), Map.of());
        }

        static byte[] trace(Throwable failure, int limit) {
            StringWriter trace = new StringWriter();
            failure.printStackTrace(new PrintWriter(trace));
            byte[] all = trace.toString().getBytes(StandardCharsets.UTF_8);
            return all.length > limit ? Arrays.copyOf(all, limit) : all;
        }

        void writeTo(DataOutputStream frames) throws IOException {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(buffer);
            out.writeInt(exitCode);
            out.writeInt(flags);
            out.writeInt(diagnostics.length);
            out.write(diagnostics);
            out.writeInt(classes.size());
            for (Map.Entry<String, byte[]> e : classes.entrySet()) {
                byte[] path = e.getKey().getBytes(StandardCharsets.UTF_8);
                out.writeInt(path.length);
                out.write(path);
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
            frames.writeInt(buffer.size());
            buffer.writeTo(frames);
            frames.flush();
        }
    }
}
