"""The log formats: one record is one line, whatever a client put in it (no forged lines, no
control characters), in text as in JSON; a traceback stays readable."""

import json
import logging
import sys
from collections.abc import Callable, Iterator

import pytest

from executor.logging_setup import configure_logging
from executor.settings import LogFormat, LogLevel

# A client's text that would forge a log line of its own, and every kind of character that
# starts a line or drives a terminal: C0, DEL, C1 (NEL among them), the Unicode separators.
FORGED = "python\n2026-12-01 00:00:00,000 ERROR executor: FAKE"
CONTROLS = "\r\x00\x07\t\x0b\x0c\x1b[31m\x1c\x1d\x1e\x7f\x85\x9b\u2028\u2029"
HOSTILE = FORGED + CONTROLS + "end"
RAW = {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)} | {"\u2028", "\u2029"}


@pytest.fixture
def formatter_of() -> Iterator[Callable[[LogFormat], logging.Formatter]]:
    """``formatter_of(log_format)``: the formatter configure_logging installs for it (the root
    logger's handlers and level are restored afterwards)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def formatter_of(log_format: LogFormat) -> logging.Formatter:
        configure_logging(level=LogLevel.INFO, log_format=log_format)
        formatter = root.handlers[0].formatter
        assert formatter is not None
        return formatter

    yield formatter_of
    root.handlers[:] = handlers
    root.setLevel(level)


def record(msg: str, *args: object, exc_info: object = None, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("executor.request", logging.INFO, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_text_format_escapes_control_characters(formatter_of) -> None:
    """A message whose arguments carry a forged line and control characters. Expected: one
    line, none of the characters raw, each written as an escape."""
    line = formatter_of(LogFormat.TEXT).format(
        record("POST /execute 400 %s language=%s", "0.5 ms", HOSTILE, language=HOSTILE)
    )
    assert len(line.splitlines()) == 1, line
    assert not RAW & set(line), line
    assert r"language=python\n2026-12-01 00:00:00,000 ERROR executor: FAKE\r\x00" in line
    assert r"\x1b[31m" in line and r"\x85" in line and r"\u2028\u2029end" in line


def test_text_format_escapes_a_message_without_arguments(formatter_of) -> None:
    line = formatter_of(LogFormat.TEXT).format(record(HOSTILE))
    assert len(line.splitlines()) == 1 and not RAW & set(line), line
    assert line.endswith(
        r"INFO executor.request: python\n2026-12-01 00:00:00,000 ERROR "
        r"executor: FAKE\r\x00\x07\t\x0b\x0c\x1b[31m\x1c\x1d\x1e\x7f\x85\x9b"
        r"\u2028\u2029end"
    )


def test_text_format_keeps_a_traceback_multi_line(formatter_of) -> None:
    """An error logged with its exception. Expected: the message on the first line, escaped;
    the traceback below it, one frame per line as Python prints it."""
    try:
        raise ValueError("from the service")
    except ValueError:
        exc_info = sys.exc_info()
    text = formatter_of(LogFormat.TEXT).format(record("failed on %s", FORGED, exc_info=exc_info))
    first, *rest = text.split("\n")
    assert first.endswith(r"failed on python\n2026-12-01 00:00:00,000 ERROR executor: FAKE")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: from the service"


def test_json_format_keeps_each_record_on_one_line(formatter_of) -> None:
    """The same message and an extra field in JSON. Expected: one line (by any line breaking
    rule, Python's splitlines included), no raw control character, and both strings given
    back exactly by a JSON parser."""
    line = formatter_of(LogFormat.JSON).format(
        record("language=%s", HOSTILE, language=HOSTILE, status=400)
    )
    assert len(line.splitlines()) == 1, line
    assert not RAW & set(line), line
    parsed = json.loads(line)
    assert parsed["message"] == f"language={HOSTILE}"
    assert (parsed["language"], parsed["status"]) == (HOSTILE, 400)
    assert parsed["level"] == "INFO" and parsed["logger"] == "executor.request"
