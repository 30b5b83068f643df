"""What encoding a 1 MB answer costs: the standard library's json (Starlette's JSONResponse)
against pydantic's serializer (the service's, responses.encode_json), for outputs of NUL bytes
(six JSON bytes each), of invalid UTF-8 (U+FFFD each) and of plain text.

Usage: ``.venv/bin/python bench/answer_encoding.py [--runs 20]``. Prints, per output and
encoder, the encoded size, the median time and the peak of Python allocations (tracemalloc)
while encoding one answer.
"""

import argparse
import json
import os
import statistics
import time
import tracemalloc

from executor.models import ExecuteResponse, Status, StreamFlags
from executor.responses import encode_json

OUTPUT_BYTES = 1 << 20


def answer(stdout: str) -> ExecuteResponse:
    flags = StreamFlags(stdout=False, stderr=False)
    return ExecuteResponse(
        status=Status.OK,
        stdout=stdout,
        stderr="",
        exit_code=0,
        signal=None,
        time_ms=1,
        wall_time_ms=1,
        memory_kb=1,
        truncated=flags,
        invalid_utf8=flags,
        compile=None,
        language="python",
        version="3",
    )


def stdlib(result: ExecuteResponse) -> bytes:
    data = result.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    outputs = {
        "NUL bytes": "\x00" * OUTPUT_BYTES,
        "invalid UTF-8": os.urandom(OUTPUT_BYTES).decode(errors="replace"),
        "text": ("hello world\n" * (OUTPUT_BYTES // 12 + 1))[:OUTPUT_BYTES],
    }
    encoders = {"stdlib json": stdlib, "pydantic (service)": encode_json}
    print("| output (1 MB) | encoder | JSON bytes | median ms | peak MB |")
    print("|---|---|--:|--:|--:|")
    for name, stdout in outputs.items():
        result = answer(stdout)
        for encoder_name, encode in encoders.items():
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                body = encode(result)
                times.append(time.perf_counter() - started)
            tracemalloc.start()
            encode(result)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            median_ms = statistics.median(times) * 1000
            print(
                f"| {name} | {encoder_name} | {len(body):,} | {median_ms:.1f} | {peak / 1e6:.1f} |"
            )


if __name__ == "__main__":
    main()
