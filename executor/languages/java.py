"""Java: javac then java; the file and main class follow the source's public class."""

import os
import re

from executor.languages.plan import LanguagePlan, Toolchain
from executor.languages.toolchain import candidates, probe_output

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
_PUBLIC_TYPE = re.compile(
    r"^\s*public\s+(?:(?:final|abstract|strictfp|sealed|non-sealed)\s+)*"
    r"(?:class|interface|enum|record)\s+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_TYPE_DECL = re.compile(r"\b(?:class|interface|enum|record)\s+([A-Za-z_$][\w$]*)")
_MAIN_METHOD = re.compile(r"\bstatic\s+(?:final\s+)?(?:public\s+)?void\s+main\s*\(")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)

# Flags shared by javac's and the program's JVM: one GC thread, no hsperfdata file in /tmp, the
# default class-data-sharing archive when present.
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto", "-XX:ActiveProcessorCount=1")


JAVAC_CDS_ARCHIVE = "lib/server/javac.jsa"


def find_java() -> list[str]:
    """``java`` binaries on PATH that have ``javac`` beside them."""
    return [
        java
        for java in candidates(["java"], ["/usr/bin/java"])
        if os.path.exists(os.path.join(os.path.dirname(java), "javac"))
    ]


def probe_java(java: str) -> Toolchain | None:
    """The JDK's version, its javac, and javac's class-data-sharing archive when the image built
    one (images/java/Dockerfile): it cuts javac's start by a third, but slows program runs, so
    only javac's JVMs get it. The version comes from the JDK's ``release`` file when there is
    one (a JVM start costs ~50 ms of CPU at startup), else from ``java -version``."""
    java_home = os.path.dirname(os.path.dirname(java))
    version = _release_version(java_home)
    if version is None:
        match = re.search(r'version "([^"]+)"', probe_output([java, "-version"]) or "")
        if not match:
            return None
        version = match.group(1)
    archive = os.path.join(java_home, JAVAC_CDS_ARCHIVE)
    return Toolchain(
        version=version,
        interpreter=java,
        compiler=os.path.join(os.path.dirname(java), "javac"),
        compiler_jvm_flags=(f"-XX:SharedArchiveFile={archive}",) if os.path.exists(archive) else (),
    )


def _release_version(java_home: str) -> str | None:
    try:
        with open(os.path.join(java_home, "release"), encoding="utf-8") as f:
            match = re.search(r'^JAVA_VERSION="([^"]+)"', f.read(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None


def java_file_name(code: str) -> str:
    """``Name.java`` after the public top-level type, or ``Main.java`` when none is public."""
    match = _PUBLIC_TYPE.search(_strip(code))
    return f"{match.group(1) if match else 'Main'}.java"


def java_main_class(main: str, content: str) -> str:
    """The fully qualified class to run: the entry file's public type, else the type declared
    last before the first ``main`` method, else the file's stem; with the file's package."""
    code = _strip(content)
    public = _PUBLIC_TYPE.search(code)
    name = main.removesuffix(".java")
    if public:
        name = public.group(1)
    elif method := _MAIN_METHOD.search(code):
        declared = _TYPE_DECL.findall(code, 0, method.start())
        if declared:
            name = declared[-1]
    package = _PACKAGE.search(code)
    return f"{package.group(1)}.{name}" if package else name


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
            "{compiler_jvm_flags}",
            "-J-XX:TieredStopAtLevel=1",
            "-J-Xmx{heap_mb}m",
            "-proc:none",
            "-encoding",
            "UTF-8",
            "-d",
            ".",
            "{sources}",
        ),
        run_argv=(
            "{interpreter}",
            *JVM_FLAGS,
            "-Xmx{heap_mb}m",
            "-XX:+ExitOnOutOfMemoryError",
            "-cp",
            ".",
            "{main_class}",
            "{args}",
        ),
        memory_strategy="heap_flag",
        oom_markers=(re.compile(r"java\.lang\.OutOfMemoryError"),),
        self_test_source=(
            "public class Main {\n"
            "    public static void main(String[] args) {\n"
            '        System.out.println("hello");\n'
            "    }\n"
            "}\n"
        ),
        warm_compiler=True,
        self_test_deferred=True,
        main_name_for=java_file_name,
        main_class_for=java_main_class,
        find_binaries=find_java,
        probe_toolchain=probe_java,
    )


def _strip(code: str) -> str:
    return _STRING.sub('""', _COMMENT.sub(" ", code))
