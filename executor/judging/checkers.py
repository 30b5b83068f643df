"""Built-in checkers: does an output match the expected output? Pure functions over bytes.

Four rules, each named after what it ignores:

exact   nothing: byte for byte.
lines   trailing whitespace on each line, and blank lines at the end. A line ends at LF; a CR
        before it is trailing whitespace, so CRLF output matches LF answers. Leading and inner
        whitespace, and case, count.
tokens  all whitespace: both sides are cut into tokens at runs of ASCII whitespace (space, TAB,
        LF, CR, VT, FF: C's isspace, what Kattis' default output validator splits on) and compared
        token by token; ``case_sensitive=False`` folds ASCII letters only, like strcasecmp.
float   tokens, where an expected token that is a decimal number (the problem package format's
        float grammar, see ``_DECIMAL``) matches an output token that is also one and lies within
        ``abs_tolerance`` or ``rel_tolerance`` (times the expected value's magnitude) of it: the
        semantics of Kattis' ``float_absolute_tolerance`` / ``float_relative_tolerance``.
        An expected token that is not a finite decimal number (``nan``, ``inf``, ``0x1p3``,
        ``1e999``, words) is compared as a string; an output token that is not one where a
        number is expected is wrong, as in Kattis. DOMjudge's fork of that validator differs:
        it lets ``nan`` match ``nan`` and takes the relative error against the team's value; we
        follow Kattis, which the problem package format specifies.

Every checker reads the two buffers in one pass, in time linear in their size, and holds at most a
window of ``_WINDOW_BYTES`` (or one line, or one token) of each beyond them: never a list of all
lines or tokens. Messages say where the first difference is (line, column or token number) and
show at most ``PREVIEW_BYTES`` of each side, so a huge output never ends up in a response.

Over 300 lines: four checkers and the streaming readers they share; each is short, and they
read best side by side.
"""

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from typing import TypeVar

PREVIEW_BYTES = 40
WHITESPACE = b" \t\n\r\x0b\x0c"
DEFAULT_FLOAT_TOLERANCE = 1e-6

_WINDOW_BYTES = 1 << 16
_NEXT_WHITESPACE = re.compile(rb"[ \t\n\r\x0b\x0c]")
_NEXT_LINE = re.compile(rb"\n")
_TOKEN = re.compile(rb"[^ \t\n\r\x0b\x0c]+")
# The problem package format's float grammar: decimal, optional sign and exponent; no hex, no
# inf/nan, no digit separators (Python's float() alone would take '1_0' and 'infinity').
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(32), 127]} | {9: "\\t", 10: "\\n", 13: "\\r"}
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]*\.[0-9]+|[0-9]+\.?)(?:[eE][+-]?[0-9]+)?")


class CheckerKind(StrEnum):
    """The built-in checkers; the wire names of the request's ``checker``."""

    EXACT = "exact"
    LINES = "lines"
    TOKENS = "tokens"
    FLOAT = "float"


@dataclass(frozen=True)
class CheckerConfig:
    """A built-in checker and its options. Tolerances are ``None`` when not set (a set tolerance
    is finite and >= 0); ``float`` with neither set uses ``DEFAULT_FLOAT_TOLERANCE`` for both."""

    kind: CheckerKind
    case_sensitive: bool = True
    abs_tolerance: float | None = None
    rel_tolerance: float | None = None


@dataclass(frozen=True)
class CheckResult:
    """The checker's answer: ``accepted``, and a short human message (empty when accepted)."""

    accepted: bool
    message: str = ""


ACCEPTED = CheckResult(accepted=True)


def check(output: bytes, *, expected: bytes, config: CheckerConfig) -> CheckResult:
    """Run the checker ``config`` names on ``output`` against ``expected``."""
    if config.kind is CheckerKind.EXACT:
        return check_exact(output, expected=expected)
    if config.kind is CheckerKind.LINES:
        return check_lines(output, expected=expected)
    if config.kind is CheckerKind.TOKENS:
        return check_tokens(output, expected=expected, case_sensitive=config.case_sensitive)
    abs_tolerance, rel_tolerance = config.abs_tolerance, config.rel_tolerance
    if abs_tolerance is None and rel_tolerance is None:
        abs_tolerance = rel_tolerance = DEFAULT_FLOAT_TOLERANCE
    return check_float(
        output,
        expected=expected,
        abs_tolerance=abs_tolerance,
        rel_tolerance=rel_tolerance,
        case_sensitive=config.case_sensitive,
    )


def check_exact(output: bytes, *, expected: bytes) -> CheckResult:
    """Accepted iff ``output`` and ``expected`` are the same bytes. The message gives the line
    and byte column of the first difference (1-based) and the bytes from there on each side."""
    if output == expected:
        return ACCEPTED
    offset = _common_prefix_bytes(output, expected)
    line, column = _line_and_column(expected, offset)
    where = f"line {line}, column {column}"
    if offset == len(output):
        message = f"{where}: the output ends; expected {_show_from(expected, offset)}"
    elif offset == len(expected):
        message = f"{where}: extra output after the expected end: {_show_from(output, offset)}"
    else:
        message = (
            f"{where}: expected {_show_from(expected, offset)}, got {_show_from(output, offset)}"
        )
    if output.find(b"\r\n", 0, offset + 2) != -1 and expected.find(b"\r\n", 0, offset + 2) == -1:
        message += " (the output has CRLF line endings)"
    return CheckResult(accepted=False, message=message)


def check_lines(output: bytes, *, expected: bytes) -> CheckResult:
    """Accepted iff the two have the same lines once trailing whitespace is cut from each line
    and blank lines at the end are dropped. The message names the first differing line."""
    if output == expected:
        return ACCEPTED
    for number, want, got in _differences(_line_batches(expected), _line_batches(output)):
        if not (want or got):
            continue  # a blank line past the end of the other side: trailing blank lines
        if got is None:
            return _rejected(f"line {number}: the output ends; expected {_show(want or b'')}")
        if want is None:
            return _rejected(f"line {number}: extra output after the expected end: {_show(got)}")
        column = _common_prefix_bytes(got, want)
        start = column - PREVIEW_BYTES // 2 if column > PREVIEW_BYTES else 0
        lead = "…" if start else ""
        return _rejected(
            f"line {number}, column {column + 1}: expected {lead}{_show(want[start:])}, "
            f"got {lead}{_show(got[start:])}"
        )
    return ACCEPTED


def check_tokens(output: bytes, *, expected: bytes, case_sensitive: bool = True) -> CheckResult:
    """Accepted iff the two hold the same whitespace-separated tokens (ASCII case folded unless
    ``case_sensitive``). The message names the first differing token and its lines."""
    return _compare_tokens(output, expected, case_sensitive=case_sensitive, tolerance=None)


def check_float(
    output: bytes,
    *,
    expected: bytes,
    abs_tolerance: float | None,
    rel_tolerance: float | None,
    case_sensitive: bool = True,
) -> CheckResult:
    """Like ``check_tokens``, but an expected decimal number matches an output number ``x`` when
    ``|x - e| <= abs_tolerance`` or ``|x - e| <= rel_tolerance * |e|`` (a ``None`` tolerance is
    not applied; integers are numbers too). Raises ValueError for a negative or non-finite
    tolerance, or when both are ``None``."""
    for name, value in (("abs_tolerance", abs_tolerance), ("rel_tolerance", rel_tolerance)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    if abs_tolerance is None and rel_tolerance is None:
        raise ValueError("check_float needs abs_tolerance, rel_tolerance or both")
    return _compare_tokens(
        output, expected, case_sensitive=case_sensitive, tolerance=(abs_tolerance, rel_tolerance)
    )


def _compare_tokens(
    output: bytes,
    expected: bytes,
    *,
    case_sensitive: bool,
    tolerance: tuple[float | None, float | None] | None,
) -> CheckResult:
    if output == expected:
        return ACCEPTED
    # Folding case before the comparison keeps runs of equal tokens a C-level list compare; the
    # message then shows the original tokens, found again by _locate.
    fold = not case_sensitive
    pairs = _differences(_token_batches(expected, fold=fold), _token_batches(output, fold=fold))
    for index, want, got in pairs:
        if want is not None and got is not None:
            if not _token_difference(want, got, tolerance=tolerance):
                continue
            want, want_line = _locate(expected, index)
            got, got_line = _locate(output, index)
            problem = _token_difference(want, got, tolerance=tolerance, fold=fold)
            return _rejected(
                f"token {index} (line {got_line} of the output, line {want_line} of the "
                f"expected): {problem}"
            )
        if want is not None:
            want, want_line = _locate(expected, index)
            if index == 1:
                empty = "empty" if not output else "only whitespace"
                return _rejected(f"the output is {empty}; expected {_show(want)} (token 1)")
            _, last_line = _locate(output, index - 1)
            return _rejected(
                f"token {index}: the output ends (after line {last_line}); expected "
                f"{_show(want)} (line {want_line} of the expected)"
            )
        got, got_line = _locate(output, index)
        return _rejected(
            f"token {index} (line {got_line}): extra output after the expected answer: {_show(got)}"
        )
    return ACCEPTED


def _token_difference(
    want: bytes,
    got: bytes,
    *,
    tolerance: tuple[float | None, float | None] | None,
    fold: bool = False,
) -> str:
    """Why ``got`` does not match ``want``, or "" when it does (``fold``: ignoring ASCII case)."""
    if tolerance is not None:
        expected_value = _decimal(want)
        if expected_value is not None:
            value = _decimal(got)
            if value is None:
                return f"expected the number {_show(want)}, got {_show(got)}"
            abs_tolerance, rel_tolerance = tolerance
            difference = abs(value - expected_value)
            if (abs_tolerance is not None and difference <= abs_tolerance) or (
                rel_tolerance is not None and difference <= rel_tolerance * abs(expected_value)
            ):
                return ""
            return (
                f"expected {_show(want)}, got {_show(got)}: difference {difference:.6g} "
                f"is over the tolerance (abs {_tolerance(abs_tolerance)}, "
                f"rel {_tolerance(rel_tolerance)})"
            )
    if want == got or (fold and want.lower() == got.lower()):
        return ""
    return f"expected {_show(want)}, got {_show(got)}"


def _decimal(token: bytes) -> float | None:
    """The token's value if it is a decimal number that fits a finite double, else None."""
    if _DECIMAL.fullmatch(token) is None:
        return None
    value = float(token)
    # An overflow (1e999) is no number to compare with a tolerance, as in Kattis' isfloat.
    return value if math.isfinite(value) else None


_Item = TypeVar("_Item")


def _differences(
    want_batches: Iterator[list[_Item]], got_batches: Iterator[list[_Item]]
) -> Iterator[tuple[int, _Item | None, _Item | None]]:
    """The items (lines or tokens) that differ between two sequences given in batches, as
    ``(index, want, got)`` with a 1-based index; once one side ends, each remaining item of the
    other is yielded against ``None``. Runs of equal items are compared as list slices, in C."""
    want: list[_Item] = []
    got: list[_Item] = []
    w = g = index = 0
    while True:
        while w == len(want):
            batch = next(want_batches, None)
            if batch is None:
                break
            want, w = batch, 0
        while g == len(got):
            batch = next(got_batches, None)
            if batch is None:
                break
            got, g = batch, 0
        if w == len(want) or g == len(got):
            break
        run = min(len(want) - w, len(got) - g)
        if want[w : w + run] != got[g : g + run]:
            for k in range(run):
                if want[w + k] != got[g + k]:
                    yield index + k + 1, want[w + k], got[g + k]
        index, w, g = index + run, w + run, g + run
    if w < len(want):
        for k, item in enumerate(chain(want[w:], chain.from_iterable(want_batches)), 1):
            yield index + k, item, None
    elif g < len(got):
        for k, item in enumerate(chain(got[g:], chain.from_iterable(got_batches)), 1):
            yield index + k, None, item


def _token_batches(data: bytes, *, fold: bool) -> Iterator[list[bytes]]:
    """The whitespace-separated tokens of ``data`` (ASCII-lowercased with ``fold``), one window
    at a time, so that no list of all tokens is ever made."""
    for start, end in _windows(data, _NEXT_WHITESPACE):
        window = data[start:end]
        yield (window.lower() if fold else window).split()


def _line_batches(data: bytes) -> Iterator[list[bytes]]:
    """The lines of ``data`` (split at LF; no empty line after a final LF), each without its
    trailing whitespace, one window at a time."""
    for start, end in _windows(data, _NEXT_LINE):
        lines = data[start:end].split(b"\n")
        if end < len(data) or data.endswith(b"\n"):
            lines.pop()  # the empty piece after the window's last LF
        yield [line.rstrip(WHITESPACE) for line in lines]


def _windows(data: bytes, boundary: re.Pattern[bytes]) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, end)`` spans of about _WINDOW_BYTES covering ``data``, each
    extended to just past the next ``boundary`` match so that no line or token is cut."""
    start, size = 0, len(data)
    while start < size:
        end = start + _WINDOW_BYTES
        if end >= size:
            end = size
        else:
            match = boundary.search(data, end)
            end = match.end() if match is not None else size
        yield start, end
        start = end


def _locate(data: bytes, index: int) -> tuple[bytes, int]:
    """The ``index``-th token (1-based) of ``data`` and the line (1-based) it starts on; ``b""``
    and the last line when there are fewer. Called once per rejection, to word the message:
    counts tokens a window at a time, then finds the token inside its window."""
    seen = 0
    for start, end in _windows(data, _NEXT_WHITESPACE):
        count = len(data[start:end].split())
        if seen + count >= index:
            for number, match in enumerate(_TOKEN.finditer(data, start, end), seen + 1):
                if number == index:
                    return match.group(), data.count(b"\n", 0, match.start()) + 1
        seen += count
    return b"", data.count(b"\n") + 1


def _common_prefix_bytes(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix of ``a`` and ``b``: compares windows in C, then
    bisects the first window that differs."""
    size = min(len(a), len(b))
    start = 0
    while start < size and a[start : start + _WINDOW_BYTES] == b[start : start + _WINDOW_BYTES]:
        start += _WINDOW_BYTES
    low, high = start, min(start + _WINDOW_BYTES, size)
    while low < high:  # invariant: a[:low] == b[:low], and they differ somewhere before high
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and byte column of ``offset`` in ``data``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _show_from(data: bytes, offset: int) -> str:
    """The bytes from ``offset`` to the end of that line, shown like ``_show``."""
    end = data.find(b"\n", offset, offset + PREVIEW_BYTES + 1)
    if end == offset:
        return "a line break"
    piece = data[offset : end if end != -1 else offset + PREVIEW_BYTES + 1]
    return _show(piece, total=len(data) - offset if end == -1 else None)


def _show(data: bytes, *, total: int | None = None) -> str:
    """``data`` quoted for a human: at most PREVIEW_BYTES of it, bytes that are not UTF-8 and
    control characters as escapes; longer data is cut with an ellipsis (and its size, unless
    ``total`` says it is a piece of something longer)."""
    size = len(data) if total is None else total
    text = data[:PREVIEW_BYTES].decode("utf-8", "backslashreplace").translate(_ESCAPES)
    if size <= PREVIEW_BYTES:
        return f"'{text}'"
    return f"'{text}…' ({size} bytes)" if total is None else f"'{text}…'"


def _tolerance(value: float | None) -> str:
    return "not set" if value is None else f"{value:g}"


def _rejected(message: str) -> CheckResult:
    return CheckResult(accepted=False, message=message)
