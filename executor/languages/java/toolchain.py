"""Finds a JDK (java with javac beside it), its version, javac's class-data-sharing archive, and
the warm compiler prebuilt for that JDK when the image made one."""

import os
import re
import zipfile

from executor.languages.java.compile_server import SERVER_CLASS, SERVER_FILE, server_files
from executor.languages.plan import Toolchain
from executor.languages.toolchain import candidates, probe_output

# Built by images/java/Dockerfile beside the JDK's default archive: an archive works only with
# the JVM build that made it, and the server's archive also names the jar it was made with.
JAVAC_CDS_ARCHIVE = "lib/server/javac.jsa"
COMPILE_SERVER_JAR = "lib/server/compile-server.jar"
COMPILE_SERVER_CDS_ARCHIVE = "lib/server/compile-server.jsa"


def find_java() -> list[str]:
    """``java`` binaries on PATH that have ``javac`` beside them."""
    return [
        java
        for java in candidates(["java"], ["/usr/bin/java"])
        if os.path.exists(os.path.join(os.path.dirname(java), "javac"))
    ]


def probe_java(java: str) -> Toolchain | None:
    """The JDK's version, its javac, and what makes its compilers start faster when the image
    built it: javac's class-data-sharing archive (it cuts javac's start by a third, but slows
    program runs, so only javac's JVMs get it: ``{javac_jvm_flags}``), and the warm compiler
    compiled into a jar with an archive of its own (``{compile_server}``: the JVM flags and the
    main class or source file the warm server starts from). The version comes from the JDK's
    ``release`` file when there is one (a JVM start costs ~50 ms of CPU at startup), else from
    ``java -version``."""
    java_home = os.path.dirname(os.path.dirname(java))
    version = _release_version(java_home)
    if version is None:
        match = re.search(r'version "([^"]+)"', probe_output([java, "-version"]) or "")
        if not match:
            return None
        version = match.group(1)
    javac_flags = _archive_flags(os.path.join(java_home, JAVAC_CDS_ARCHIVE))
    return Toolchain(
        version=version,
        interpreter=java,
        compiler=os.path.join(os.path.dirname(java), "javac"),
        expansions={
            "javac_jvm_flags": tuple(f"-J{flag}" for flag in javac_flags),
            "compile_server": _compile_server(java_home, javac_flags=javac_flags),
        },
    )


def _compile_server(java_home: str, *, javac_flags: tuple[str, ...]) -> tuple[str, ...]:
    """The warm server from the image's jar when that jar was built from this service's own
    source; else from the source file in its box (the source launcher compiles it first, which
    costs as much CPU as the server's whole start from the jar)."""
    jar = os.path.join(java_home, COMPILE_SERVER_JAR)
    if _holds_this_server(jar):
        archive = _archive_flags(os.path.join(java_home, COMPILE_SERVER_CDS_ARCHIVE))
        return (*archive, "-cp", jar, SERVER_CLASS)
    return (*javac_flags, SERVER_FILE)


def _holds_this_server(jar: str) -> bool:
    # The jar carries the source it was compiled from: a service upgraded without rebuilding
    # the image must not speak to an older server.
    try:
        with zipfile.ZipFile(jar) as archive:
            return archive.read(SERVER_FILE) == server_files()[SERVER_FILE]
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def _archive_flags(archive: str) -> tuple[str, ...]:
    # Under -Xshare:auto an archive that cannot be mapped is ignored silently.
    return (f"-XX:SharedArchiveFile={archive}",) if os.path.exists(archive) else ()


def _release_version(java_home: str) -> str | None:
    try:
        with open(os.path.join(java_home, "release"), encoding="utf-8") as f:
            match = re.search(r'^JAVA_VERSION="([^"]+)"', f.read(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None
