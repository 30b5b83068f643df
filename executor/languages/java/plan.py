"""Java's plan: javac then java, the file and main class following the source's public class,
and javac kept warm as a long-lived server."""

import re

from executor.languages.java.compile_server import decode_response, encode_request, server_files
from executor.languages.java.naming import java_file_name, java_main_class
from executor.languages.java.runner import MAIN_CLASS as RUNNER_CLASS
from executor.languages.java.runner import build_runner
from executor.languages.java.toolchain import find_java, probe_java
from executor.languages.plan import LanguagePlan, MemoryStrategy, RunnerPlan, WarmServerPlan

# Flags shared by javac's and the program's JVM: one GC thread, no hsperfdata file in /tmp, the
# default class-data-sharing archive when present.
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto", "-XX:ActiveProcessorCount=1")
# The program's JVM: its heap capped by -Xmx, and an OutOfMemoryError ends it instead of being
# caught and ignored. The JVM's own messages (warnings, "Terminating due to
# ...OutOfMemoryError", the unified log's "Failed to start thread") go to stderr, never into
# the program's output. Its temporary files go to /tmp whatever TMPDIR says; a run may write
# only in its own directory. A runner has the same flags.
RUN_FLAGS = (
    "{interpreter}",
    *JVM_FLAGS,
    "-Xmx{heap_mb}m",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+DisplayVMOutputToStderr",
    "-Xlog:disable",
    "-Xlog:all=warning:stderr",
    "-Djava.io.tmpdir={tmp_dir}",
)
# Compiles the warm server does before it answers that it is ready, beyond its first one. The
# first compile in a JVM costs ten times a warm one and is paid before the server is ready; each
# further one would delay the ready answer, and with it the first submissions, which wait for a
# starting server.
READY_WARM_UPS = 0
# Compiles of WARM_UP_SOURCE the service sends once the server is ready, each only while no
# submission waits for the server, so that the JIT has compiled javac before submissions pay for
# it (a compile costs about twice the CPU of a warm one for the first ten or so).
WARM_UP_COMPILES = 10
WARM_UP_SOURCE = b"""import java.util.*;
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.hasNextInt() ? in.nextInt() : 3;
        List<Integer> values = new ArrayList<>();
        for (int i = 0; i < n; i++) values.add(i * i);
        Map<Integer, String> names = new HashMap<>();
        values.forEach(v -> names.put(v, "v" + v));
        System.out.println(values.stream().mapToInt(Integer::intValue).sum() + " " + names);
    }
}
"""


def java_plan() -> LanguagePlan:
    """javac: no annotation processing (it would run user code at compile time), a C1-only JVM
    (javac is short-lived). java: the program's heap capped by -Xmx, and an OutOfMemoryError
    ends the JVM instead of being caught and ignored."""
    return LanguagePlan(
        name="java",
        aliases=(),
        source_suffix=".java",
        default_main="Main.java",
        compile_argv=(
            "{compiler}",
            *(f"-J{flag}" for flag in JVM_FLAGS),
            "{javac_jvm_flags}",
            "-J-XX:TieredStopAtLevel=1",
            "-J-Xmx{heap_mb}m",
            "-proc:none",
            "-encoding",
            "UTF-8",
            "-d",
            ".",
            "{sources}",
        ),
        run_argv=(*RUN_FLAGS, "-cp", ".", "{main_class}", "{args}"),
        memory_strategy=MemoryStrategy.HEAP_FLAG,
        # Measured: a hello world maps 0.7 GB (Node) and 2.7 GB (Java, 40 threads, -Xmx192m);
        # four Node workers 3.4 GB.
        address_space_slack_mb=4096,
        # Failing to start a thread is the process limit, not memory.
        oom_markers=(re.compile(r"java\.lang\.OutOfMemoryError(?!: unable to create native)"),),
        process_limit_markers=(re.compile(r"unable to create native thread"),),
        self_test_source=(
            "public class Main {\n"
            "    public static void main(String[] args) {\n"
            '        System.out.println("hello");\n'
            "    }\n"
            "}\n"
        ),
        main_name_for=java_file_name,
        main_class_for=java_main_class,
        find_binaries=find_java,
        probe_toolchain=probe_java,
        warm_server=WarmServerPlan(
            files=server_files,
            argv=(
                "{interpreter}",
                *JVM_FLAGS,
                # C1 only: measured on 40 compiles after warm-up, C2 spent 70-90 ms of CPU per
                # compile for the first 15 or so (JIT work) and 30 ms after; C1 alone 20 ms from
                # the first one, and the server's start costs 1.0 s of CPU instead of 1.8 s.
                "-XX:TieredStopAtLevel=1",
                "-Xmx{heap_mb}m",
                "{compile_server}",
                str(READY_WARM_UPS),
            ),
            encode_request=encode_request,
            decode_response=decode_response,
            warm_up_sources={"Main.java": WARM_UP_SOURCE},
            warm_up_compiles=WARM_UP_COMPILES,
        ),
        # The runner is on the boot class path: the class path stays the program's ".".
        runner=RunnerPlan(
            argv=(*RUN_FLAGS, "-Xbootclasspath/a:{runner}", "-cp", ".", RUNNER_CLASS),
            entry="{main_class}",
            build=build_runner,
        ),
    )
