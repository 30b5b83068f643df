"""Judge0 CE's fixed vocabulary: its language ids for the languages this service offers, its
statuses with their ids and descriptions, and how this service's result maps onto them."""

from dataclasses import dataclass
from enum import IntEnum

import semantic_version  # type: ignore[import-untyped]

from executor.judging.models import Verdict
from executor.languages.registry import Runtime
from executor.models import ExecuteResponse, Status

# The Judge0 CE release whose language ids these are (ce.judge0.com's list, the judge0 Python
# SDK's "1.14.0" table); /about reports it.
JUDGE0_VERSION = "1.14.0"


@dataclass(frozen=True)
class CatalogEntry:
    """A Judge0 CE language: its id, the version Judge0 runs under that id, and how Judge0
    names it (``{version}`` is filled with the version offered here)."""

    language_id: int
    version: str
    name: str


# Judge0 CE's ids of this service's languages (Python 2, a different language, left out).
CATALOG: dict[str, tuple[CatalogEntry, ...]] = {
    "python": (
        CatalogEntry(71, "3.8.1", "Python ({version})"),
        CatalogEntry(92, "3.11.2", "Python ({version})"),
        CatalogEntry(100, "3.12.5", "Python ({version})"),
        CatalogEntry(109, "3.13.2", "Python ({version})"),
        CatalogEntry(113, "3.14.0", "Python ({version})"),
    ),
    "node": (
        CatalogEntry(63, "12.14.0", "JavaScript (Node.js {version})"),
        CatalogEntry(93, "18.15.0", "JavaScript (Node.js {version})"),
        CatalogEntry(97, "20.17.0", "JavaScript (Node.js {version})"),
        CatalogEntry(102, "22.8.0", "JavaScript (Node.js {version})"),
    ),
    "java": (
        CatalogEntry(62, "13.0.1", "Java (OpenJDK {version})"),
        CatalogEntry(91, "17.0.6", "Java (JDK {version})"),
    ),
}


class Judge0Status(IntEnum):
    """Judge0's submission statuses, by id."""

    IN_QUEUE = 1
    PROCESSING = 2
    ACCEPTED = 3
    WRONG_ANSWER = 4
    TIME_LIMIT_EXCEEDED = 5
    COMPILATION_ERROR = 6
    RUNTIME_ERROR_SIGSEGV = 7
    RUNTIME_ERROR_SIGXFSZ = 8
    RUNTIME_ERROR_SIGFPE = 9
    RUNTIME_ERROR_SIGABRT = 10
    RUNTIME_ERROR_NZEC = 11
    RUNTIME_ERROR_OTHER = 12
    INTERNAL_ERROR = 13
    EXEC_FORMAT_ERROR = 14


DESCRIPTIONS: dict[Judge0Status, str] = {
    Judge0Status.IN_QUEUE: "In Queue",
    Judge0Status.PROCESSING: "Processing",
    Judge0Status.ACCEPTED: "Accepted",
    Judge0Status.WRONG_ANSWER: "Wrong Answer",
    Judge0Status.TIME_LIMIT_EXCEEDED: "Time Limit Exceeded",
    Judge0Status.COMPILATION_ERROR: "Compilation Error",
    Judge0Status.RUNTIME_ERROR_SIGSEGV: "Runtime Error (SIGSEGV)",
    Judge0Status.RUNTIME_ERROR_SIGXFSZ: "Runtime Error (SIGXFSZ)",
    Judge0Status.RUNTIME_ERROR_SIGFPE: "Runtime Error (SIGFPE)",
    Judge0Status.RUNTIME_ERROR_SIGABRT: "Runtime Error (SIGABRT)",
    Judge0Status.RUNTIME_ERROR_NZEC: "Runtime Error (NZEC)",
    Judge0Status.RUNTIME_ERROR_OTHER: "Runtime Error (Other)",
    Judge0Status.INTERNAL_ERROR: "Internal Error",
    Judge0Status.EXEC_FORMAT_ERROR: "Exec Format Error",
}

_BY_SIGNAL = {
    "SIGSEGV": Judge0Status.RUNTIME_ERROR_SIGSEGV,
    "SIGXFSZ": Judge0Status.RUNTIME_ERROR_SIGXFSZ,
    "SIGFPE": Judge0Status.RUNTIME_ERROR_SIGFPE,
    "SIGABRT": Judge0Status.RUNTIME_ERROR_SIGABRT,
}


@dataclass(frozen=True)
class Judge0Language:
    """A language as /languages lists it: its Judge0 CE id and name, and the runtime here."""

    language_id: int
    name: str
    runtime: Runtime


def listed_language(runtime: Runtime) -> Judge0Language | None:
    """The Judge0 CE id of ``runtime``'s version: the catalog entry of its language with the
    same major and minor version (major alone for Node and Java), else the nearest below it,
    else the oldest; named with the version offered here. None for a language Judge0 lacks."""
    entries = CATALOG.get(runtime.language)
    if not entries:
        return None
    offered = semantic_version.Version.coerce(runtime.version)
    depth = 2 if runtime.language == "python" else 1

    def key(version: semantic_version.Version) -> tuple[int, ...]:
        return (version.major, version.minor)[:depth]

    parsed = [(semantic_version.Version.coerce(e.version), e) for e in entries]
    same = [e for v, e in parsed if key(v) == key(offered)]
    below = [e for v, e in parsed if v <= offered]
    chosen = same[-1] if same else below[-1] if below else entries[0]
    return Judge0Language(chosen.language_id, chosen.name.format(version=runtime.version), runtime)


def language_for_id(runtimes: list[Runtime], language_id: int) -> Judge0Language | None:
    """The language a submission's ``language_id`` runs here: a listed id, or another Judge0
    CE id of a language offered here (71 for Python 3.8.1 runs the Python offered), which
    keeps the listed entry's name under the id asked. None for any other id."""
    for runtime in runtimes:
        listed = listed_language(runtime)
        if listed is None:
            continue
        known = {e.language_id for e in CATALOG.get(runtime.language, ())}
        if language_id == listed.language_id or language_id in known:
            return Judge0Language(language_id, listed.name, runtime)
    return None


def status_of(response: ExecuteResponse) -> Judge0Status:
    """Judge0's status for this service's answer (judged when ``expected_output`` was given):
    a verdict's accepted or wrong answer first; a compile that failed (at a limit too) is a
    compilation error; the memory limit, which Judge0 reports as the kernel's kill, is Runtime
    Error (Other); the output limit, where Judge0 stops a run at its file-size limit, is
    SIGXFSZ; a signal its own status where Judge0 has one; a non-zero exit NZEC."""
    verdict = getattr(response, "verdict", None)
    if verdict is Verdict.ACCEPTED:
        return Judge0Status.ACCEPTED
    if verdict is Verdict.WRONG_ANSWER:
        return Judge0Status.WRONG_ANSWER
    if response.compile is not None and response.compile.status is not Status.OK:
        return Judge0Status.COMPILATION_ERROR
    if response.status is Status.OK:
        return Judge0Status.ACCEPTED
    if response.status is Status.TIME_LIMIT_EXCEEDED:
        return Judge0Status.TIME_LIMIT_EXCEEDED
    if response.status is Status.COMPILATION_ERROR:
        return Judge0Status.COMPILATION_ERROR
    if response.status is Status.MEMORY_LIMIT_EXCEEDED:
        return Judge0Status.RUNTIME_ERROR_OTHER
    if response.status is Status.OUTPUT_LIMIT_EXCEEDED:
        return Judge0Status.RUNTIME_ERROR_SIGXFSZ
    if response.status is Status.INTERNAL_ERROR:
        return Judge0Status.INTERNAL_ERROR
    if response.signal is not None:
        return _BY_SIGNAL.get(response.signal, Judge0Status.RUNTIME_ERROR_OTHER)
    return Judge0Status.RUNTIME_ERROR_NZEC
