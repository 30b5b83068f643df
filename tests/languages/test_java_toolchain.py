"""Java's toolchain probe: the JDK's version from its release file, and the warm compiler from
the image's prebuilt jar only when that jar holds this service's own server source."""

import zipfile
from pathlib import Path

import pytest

from executor.languages.java.compile_server import SERVER_FILE, server_files
from executor.languages.java.toolchain import (
    COMPILE_SERVER_CDS_ARCHIVE,
    COMPILE_SERVER_JAR,
    JAVAC_CDS_ARCHIVE,
    probe_java,
)


@pytest.fixture
def java_home(tmp_path: Path) -> Path:
    """A JDK's layout as the probe reads it: bin/java, bin/javac, release, lib/server/."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_bytes(b"")
    (tmp_path / "bin" / "javac").write_bytes(b"")
    (tmp_path / "release").write_text('IMPLEMENTOR="Debian"\nJAVA_VERSION="21.0.9"\n')
    (tmp_path / "lib" / "server").mkdir(parents=True)
    return tmp_path


def write_jar(path: Path, source: bytes) -> None:
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("CompileServer.class", b"\xca\xfe\xba\xbe")
        jar.writestr(SERVER_FILE, source)


def test_the_warm_server_starts_from_the_jar_holding_this_services_source(
    java_home: Path,
) -> None:
    jar = java_home / COMPILE_SERVER_JAR
    write_jar(jar, server_files()[SERVER_FILE])
    (java_home / COMPILE_SERVER_CDS_ARCHIVE).write_bytes(b"")
    (java_home / JAVAC_CDS_ARCHIVE).write_bytes(b"")
    toolchain = probe_java(str(java_home / "bin" / "java"))
    assert toolchain is not None
    assert toolchain.version == "21.0.9"
    assert toolchain.expansions["compile_server"] == (
        f"-XX:SharedArchiveFile={java_home / COMPILE_SERVER_CDS_ARCHIVE}",
        "-cp",
        str(jar),
        "CompileServer",
    )
    assert toolchain.expansions["javac_jvm_flags"] == (
        f"-J-XX:SharedArchiveFile={java_home / JAVAC_CDS_ARCHIVE}",
    )


def test_a_jar_built_from_another_source_is_not_used(java_home: Path) -> None:
    """An image whose jar was built from an older server: the service starts the server from
    its own source file (with javac's archive), never speaking to a server it does not know."""
    write_jar(java_home / COMPILE_SERVER_JAR, b"public final class CompileServer {}\n")
    (java_home / COMPILE_SERVER_CDS_ARCHIVE).write_bytes(b"")
    (java_home / JAVAC_CDS_ARCHIVE).write_bytes(b"")
    toolchain = probe_java(str(java_home / "bin" / "java"))
    assert toolchain is not None
    assert toolchain.expansions["compile_server"] == (
        f"-XX:SharedArchiveFile={java_home / JAVAC_CDS_ARCHIVE}",
        SERVER_FILE,
    )


@pytest.mark.parametrize("jar_content", [None, b"not a zip file"])
def test_without_a_usable_jar_the_server_starts_from_its_source_file(
    java_home: Path, jar_content: bytes | None
) -> None:
    if jar_content is not None:
        (java_home / COMPILE_SERVER_JAR).write_bytes(jar_content)
    toolchain = probe_java(str(java_home / "bin" / "java"))
    assert toolchain is not None
    assert toolchain.expansions["compile_server"] == (SERVER_FILE,)
    assert toolchain.expansions["javac_jvm_flags"] == ()
