"""Output: a flood on both streams is cut at the output limit."""

import pytest

from tests.hostile.support import Hostile, assert_contained


@pytest.mark.parametrize("language", ["python", "node"])
def test_output_flood_on_both_streams(hostile: Hostile, language: str) -> None:
    """1. Flood stdout and stderr in turn (Python: text and binary; Node: one endless line each)
    under a 64 KB cap. Expected: output_limit_exceeded, exactly 64 KB kept over both streams,
    truncation flagged, far below the CPU limit."""
    limits = {"output_kb": 64, "time_ms": 5000, "wall_time_ms": 8000}
    result = hostile.run(language, "hostile_output_flood", limits=limits)
    assert result["status"] == "output_limit_exceeded", result
    kept = result["stdout"].encode() + result["stderr"].encode()
    # Invalid UTF-8 comes back as U+FFFD (3 bytes each), so count the kept bytes from the text.
    if language == "node":
        assert len(kept) == 64 * 1024
    assert result["truncated"]["stdout"] or result["truncated"]["stderr"]
    assert result["time_ms"] < 5000
    assert_contained(hostile, language=language)
