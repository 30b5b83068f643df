"""Oversized input: arguments, bodies and stdin past their limits are refused before anything
runs, and the largest allowed ones reach the program whole."""

import secrets

from tests.hostile.support import QUICK, Hostile, assert_contained
from tests.support import program


def test_huge_args_and_stdin(hostile: Hostile) -> None:
    """1. An argument one byte over 4096. 2. 65 arguments. 3. A body over 4 MB. 4. 64 arguments
    of 4096 bytes and 3 MB of stdin. Expected: 413, 422, 413 with JSON errors and nothing run;
    then ok, the program seeing every byte."""
    case = {"language": "python", **program("python", "hostile_huge_input")}
    client = hostile.service.client
    too_long = client.post("/execute", json={**case, "args": ["a" * 4097]})
    assert too_long.status_code == 413, too_long.text
    too_many = client.post("/execute", json={**case, "args": ["a"] * 65})
    assert too_many.status_code == 422, too_many.text
    too_big = client.post("/execute", json={**case, "stdin": "s" * (4 * 1024 * 1024 + 1)})
    assert too_big.status_code == 413, too_big.text
    for response in (too_long, too_many, too_big):
        assert set(response.json()["error"]) >= {"code", "message"}
    args = [secrets.token_hex(2048) for _ in range(64)]
    stdin = "s" * (3 * 1024 * 1024)
    result = hostile.service.execute({**case, "args": args, "stdin": stdin, "limits": QUICK})
    assert result["status"] == "ok", result
    assert result["stdout"] == f"64 {64 * 4096} {len(stdin)}\n"
    assert_contained(hostile)
