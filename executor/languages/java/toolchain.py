"""Finds a JDK (java with javac beside it), its version, and javac's class-data-sharing archive."""

import os
import re

from executor.languages.plan import Toolchain
from executor.languages.toolchain import candidates, probe_output

# Built by images/java/Dockerfile beside the JDK's default archive.
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
    one: it cuts javac's start by a third, but slows program runs, so only javac's JVMs get it
    (``{javac_jvm_flags}`` for javac, ``{compiler_server_flags}`` for the warm server). The
    version comes from the JDK's ``release`` file when there is one (a JVM start costs ~50 ms of
    CPU at startup), else from ``java -version``."""
    java_home = os.path.dirname(os.path.dirname(java))
    version = _release_version(java_home)
    if version is None:
        match = re.search(r'version "([^"]+)"', probe_output([java, "-version"]) or "")
        if not match:
            return None
        version = match.group(1)
    archive = os.path.join(java_home, JAVAC_CDS_ARCHIVE)
    flags = (f"-XX:SharedArchiveFile={archive}",) if os.path.exists(archive) else ()
    return Toolchain(
        version=version,
        interpreter=java,
        compiler=os.path.join(os.path.dirname(java), "javac"),
        expansions={
            "javac_jvm_flags": tuple(f"-J{flag}" for flag in flags),
            "compiler_server_flags": flags,
        },
    )


def _release_version(java_home: str) -> str | None:
    try:
        with open(os.path.join(java_home, "release"), encoding="utf-8") as f:
            match = re.search(r'^JAVA_VERSION="([^"]+)"', f.read(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None
