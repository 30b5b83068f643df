"""A submission's verdict: the service's own when it judged (issue 10), else from its status and
output compared here."""

from typing import Any

# Status (README) → verdict, for every status but ok (which needs the output compared).
VERDICT_OF_STATUS = {
    "runtime_error": "runtime_error",
    "time_limit_exceeded": "time_limit_exceeded",
    "memory_limit_exceeded": "memory_limit_exceeded",
    "output_limit_exceeded": "output_limit_exceeded",
    "compilation_error": "compilation_error",
    "internal_error": "internal_error",
}


def verdict(body: dict[str, Any], *, expected_stdout: str) -> tuple[str, str]:
    """(verdict, who judged: "service" or "rehearsal"). The rehearsal's comparison is the
    "lines" rule: trailing whitespace of each line and trailing blank lines do not count."""
    given = body.get("verdict")
    if given is not None:
        return str(given), "service"
    status = str(body.get("status"))
    if status != "ok":
        return VERDICT_OF_STATUS.get(status, "internal_error"), "rehearsal"
    same = _lines(str(body.get("stdout", ""))) == _lines(expected_stdout)
    return ("accepted" if same else "wrong_answer"), "rehearsal"


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines
