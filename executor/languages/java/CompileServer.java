/*
 * A long-lived javac: reads compile requests on stdin, answers on stdout. Started by the
 * executor service (executor/warm_server.py, as described by executor/languages/java/plan.py) as an unprivileged uid in the sandbox.
 *
 * Sources and classes stay in memory: the server never reads or writes a file of a run. Options
 * are fixed here (-proc:none: no annotation processors, so no user code runs at compile time);
 * nothing in a request can add one.
 *
 * Every message is one frame: an int length, then that many bytes (big-endian, as DataInput
 * and DataOutput write them). Inside:
 *   request : int fileCount, then per file: UTF name, int length, bytes (UTF-8 source)
 *   response: int exitCode (0 ok, 1 errors, like javac), int length, bytes (diagnostics, UTF-8,
 *             exactly as javac prints them), int classCount, then per class: UTF path
 *             ("pkg/Name$Inner.class"), int length, bytes
 * At start, after warming javac up, the server writes one response to a built-in program so the
 * service knows it is ready.
 */

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
    private static final List<String> OPTIONS = List.of("-proc:none", "-encoding", "UTF-8");
    private static final String WARM_UP_SOURCE =
        "import java.util.*;\npublic class Main {\n  public static void main(String[] a) {\n"
        + "    List<String> l = new ArrayList<>(); l.add(\"hello\");\n"
        + "    for (String s : l) System.out.println(s);\n  }\n}\n";

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
            result = server.compile(warm);
        }
        result.writeTo(out);
        while (true) {
            Map<String, byte[]> sources;
            try {
                sources = readRequest(in);
            } catch (EOFException closed) {
                return;
            }
            server.compile(sources).writeTo(out);
        }
    }

    private static Map<String, byte[]> readRequest(DataInputStream frames) throws IOException {
        byte[] frame = new byte[frames.readInt()];
        frames.readFully(frame);
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(frame));
        int count = in.readInt();
        Map<String, byte[]> sources = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            byte[] content = new byte[in.readInt()];
            in.readFully(content);
            sources.put(name, content);
        }
        return sources;
    }

    private Result compile(Map<String, byte[]> sources) {
        List<JavaFileObject> units = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : sources.entrySet()) {
            units.add(new Source(e.getKey(), new String(e.getValue(), StandardCharsets.UTF_8)));
        }
        Classes classes = new Classes(standard);
        StringWriter diagnostics = new StringWriter();
        boolean ok;
        try {
            ok = compiler.getTask(new PrintWriter(diagnostics), classes, null, OPTIONS, null, units).call();
        } catch (RuntimeException crash) {
            // javac's own failure ("An exception has occurred in the compiler"): exit 4 like javac.
            StringWriter trace = new StringWriter();
            crash.printStackTrace(new PrintWriter(trace));
            return new Result(4, trace.toString(), Map.of());
        }
        return new Result(ok ? 0 : 1, diagnostics.toString(), ok ? classes.output : Map.of());
    }

    /** A source held in memory, named as the file javac would have been given. */
    private static final class Source extends SimpleJavaFileObject {
        private final String name;
        private final String text;

        Source(String name, String text) {
            super(URI.create("mem:///" + name.replace(" ", "%20")), Kind.SOURCE);
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

    /** Keeps every class javac writes, keyed by its relative path. */
    private static final class Classes extends ForwardingJavaFileManager<StandardJavaFileManager> {
        final Map<String, byte[]> output = new LinkedHashMap<>();

        Classes(StandardJavaFileManager standard) {
            super(standard);
        }

        @Override
        public JavaFileObject getJavaFileForOutput(
                Location location, String className, JavaFileObject.Kind kind, FileObject sibling) {
            String path = className.replace('.', '/') + kind.extension;
            return new SimpleJavaFileObject(URI.create("mem:///" + path), kind) {
                @Override
                public OutputStream openOutputStream() {
                    return new ByteArrayOutputStream() {
                        @Override
                        public void close() {
                            output.put(path, toByteArray());
                        }
                    };
                }
            };
        }
    }

    private record Result(int exitCode, String diagnostics, Map<String, byte[]> classes) {
        void writeTo(DataOutputStream frames) throws IOException {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(buffer);
            out.writeInt(exitCode);
            byte[] text = diagnostics.getBytes(StandardCharsets.UTF_8);
            out.writeInt(text.length);
            out.write(text);
            out.writeInt(classes.size());
            for (Map.Entry<String, byte[]> e : classes.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
            frames.writeInt(buffer.size());
            buffer.writeTo(frames);
            frames.flush();
        }
    }
}
