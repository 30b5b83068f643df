"""Write compile requests for the warm compiler to stdout, one frame per Java file named on the
command line, as the service frames them (executor/sandbox/resident.py: a big-endian int length,
then the request). images/java/Dockerfile pipes them into the server while it records its
class-data-sharing archive; the server exits at the end of its input."""

import struct
import sys
from pathlib import Path

from executor.languages.java.compile_server import encode_request
from executor.languages.plan import CompileBudget

# Ample for the training programs: the server must answer them in full, as it does a submission.
BUDGET = CompileBudget(
    diagnostics_bytes=64 * 1024,
    artifact_bytes=16 * 1024 * 1024,
    artifact_files=1000,
    artifact_file_bytes=16 * 1024 * 1024,
)


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        request = encode_request({path.name: path.read_bytes()}, BUDGET)
        sys.stdout.buffer.write(struct.pack(">i", len(request)) + request)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
