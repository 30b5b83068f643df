"""Kattis problem packages (legacy and 2023-07+): read one, and turn a submission into requests.

What is read, in both layouts:

- ``problem.yaml``: ``name``; ``limits`` (``memory`` and ``output`` in MiB, ``time_limit`` in
  seconds; ``time_multiplier`` in legacy, ``time_multipliers.ac_to_time_limit`` and
  ``time_resolution`` from 2023-07); how output is judged: legacy ``validation`` (``default``,
  ``custom``, ``custom interactive``) with ``validator_flags``, 2023-07 ``type`` (``pass-fail``,
  ``interactive``; ``scoring`` is judged as pass-fail, with a warning).
  A legacy package may give its time limit as ``limits.time_limit`` or in a ``.timelimit`` file
  (DOMjudge's convention); otherwise the judge derives it from the accepted submissions.
- ``data/sample`` then ``data/secret``: every ``X.in`` with its ``X.ans``, nested groups
  included, in lexicographic order of their path (the order both formats prescribe). The
  default validator's flags come from ``output_validator_flags`` (legacy ``testdata.yaml``) or
  ``output_validator_args`` (``testdata.yaml`` / ``test_group.yaml`` and a test's ``X.yaml``
  from 2023-07), the closest ancestor's applying.
- the output validator: ``output_validators/<name>`` (legacy) or ``output_validator/``
  (2023-07), a single file or a directory of Python, Java or JavaScript sources. It becomes the
  request's ``program`` checker, or its ``interactor`` on an interactive problem. Input
  validators are not read.
- ``submissions/<directory>/<file or directory>``: Python, Java and JavaScript submissions;
  others are listed with the reason they are skipped. The directory names the expected result
  (``Expectation``).

Over 300 lines because both layouts of the format are read here, and they share most of their
parsing.
"""

import math
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from executor.judging.models import Verdict

LEGACY = "legacy"
MODERN = "2023-07"

LANGUAGE_OF_SUFFIX = {".py": "python", ".java": "java", ".js": "node"}
DEFAULT_TIME_MULTIPLIER = {LEGACY: 5.0, MODERN: 2.0}  # legacy time_multiplier, ac_to_time_limit
DEFAULT_TIME_RESOLUTION_S = 1.0

_AC, _WA, _TLE = Verdict.ACCEPTED, Verdict.WRONG_ANSWER, Verdict.TIME_LIMIT_EXCEEDED
_MLE, _OLE, _CE = (
    Verdict.MEMORY_LIMIT_EXCEEDED,
    Verdict.OUTPUT_LIMIT_EXCEEDED,
    Verdict.COMPILATION_ERROR,
)
# The format knows four results (AC, WA, TLE, RTE); running out of memory or output is a crash
# there, so a run_time_error submission may show any of these three.
_RTE = frozenset({Verdict.RUNTIME_ERROR, _MLE, _OLE})
_FAILURES = frozenset({_WA, _TLE}) | _RTE


class UnsupportedPackage(Exception):
    """The package cannot be judged here; the message says what and where."""


@dataclass(frozen=True)
class Expectation:
    """What a submission directory promises: every test's verdict is in ``permitted`` and, when
    ``required`` is set, at least one is in it (the 2023-07 format's permitted/required rules;
    legacy directories read the same way)."""

    directory: str
    permitted: frozenset[Verdict]
    required: frozenset[Verdict] | None = None

    def agrees(self, verdicts: Sequence[Verdict]) -> bool:
        """Whether the verdicts of the tests that ran (skipped ones are left out) keep the
        promise. No verdict at all never agrees."""
        ran = [v for v in verdicts if v is not Verdict.SKIPPED]
        if not ran or any(v not in self.permitted for v in ran):
            return False
        return self.required is None or any(v in self.required for v in ran)

    def describe(self) -> str:
        """The expectation for a human: the required verdicts, or the permitted ones."""
        verdicts = self.required if self.required is not None else self.permitted
        return " or ".join(sorted(verdicts))


def expectation_for(directory: str, *, format_version: str) -> Expectation | None:
    """The expectation of a ``submissions/<directory>``, or None for a directory we do not know.
    ``compile_error`` (also ``compiler_error``, ``compilation_error``),
    ``memory_limit_exceeded`` and ``output_limit_exceeded`` are ours: the format has no
    directory for them."""
    legacy = format_version == LEGACY
    table: dict[str, tuple[frozenset[Verdict], frozenset[Verdict] | None]] = {
        "accepted": (frozenset({_AC}), None),
        "wrong_answer": (frozenset({_AC, _WA}), frozenset({_WA})),
        # Legacy: "Too slow for some test case. May also give wrong answer but not crash".
        "time_limit_exceeded": (
            frozenset({_AC, _TLE, _WA} if legacy else {_AC, _TLE}),
            frozenset({_TLE}),
        ),
        # Legacy: "Crashes for some test case", whatever the others do.
        "run_time_error": (
            (_FAILURES | {_AC}) if legacy else (_RTE | {_AC}),
            _RTE,
        ),
        "rejected": (_FAILURES | {_AC}, _FAILURES),
        "brute_force": (_RTE | {_AC, _TLE}, _RTE | {_TLE}),
        "memory_limit_exceeded": (frozenset({_AC, _MLE}), frozenset({_MLE})),
        "output_limit_exceeded": (frozenset({_AC, _OLE}), frozenset({_OLE})),
        "compile_error": (frozenset({_CE}), frozenset({_CE})),
    }
    table["compiler_error"] = table["compilation_error"] = table["compile_error"]
    if directory not in table:
        return None
    permitted, required = table[directory]
    return Expectation(directory=directory, permitted=permitted, required=required)


@dataclass(frozen=True)
class Source:
    """A program's files, ready for a request: ``(name, text)`` pairs, the entry file first."""

    language: str
    files: tuple[tuple[str, str], ...]
    main: str | None = None

    def wire(self) -> dict[str, Any]:
        """The request fields ``language`` and ``code``, or ``files`` (and ``main``)."""
        if len(self.files) == 1:
            return {"language": self.language, "code": self.files[0][1]}
        body: dict[str, Any] = {
            "language": self.language,
            "files": [{"name": name, "content": text} for name, text in self.files],
        }
        if self.main is not None:
            body["main"] = self.main
        return body


@dataclass(frozen=True)
class TestData:
    """One test case: its name (path under data/ without ``.in``), its files, and the
    request ``checker`` the default validator's flags make (None with a custom validator)."""

    __test__ = False  # a data class, not a pytest class

    name: str
    input_path: Path
    answer_path: Path
    checker: Mapping[str, Any] | None

    def wire(self) -> dict[str, Any]:
        """The request's test: ``name``, ``stdin``, ``expected_stdout`` (both must be UTF-8)."""
        return {
            "name": self.name,
            "stdin": _read_text(self.input_path),
            "expected_stdout": _read_text(self.answer_path),
        }


@dataclass(frozen=True)
class Submission:
    """An example submission. ``source`` is None when it cannot be judged here, and
    ``skip_reason`` then says why; ``expectation`` is None for an unknown directory."""

    name: str
    path: Path
    expectation: Expectation | None
    source: Source | None
    skip_reason: str | None = None


@dataclass(frozen=True)
class Problem:
    """A problem package, as far as judging needs it. Times in ms, memory in MB (MiB, as the
    service counts), output in KB."""

    path: Path
    name: str
    format_version: str
    interactive: bool
    tests: tuple[TestData, ...]
    validator: Source | None
    submissions: tuple[Submission, ...]
    time_limit_ms: int | None
    time_multiplier: float
    time_resolution_ms: int
    memory_mb: int | None
    output_kb: int | None
    warnings: tuple[str, ...] = field(default=())

    def time_limit_from(self, slowest_accepted_ms: int) -> int:
        """The time limit the format derives from the slowest accepted run: the smallest
        multiple of the time resolution that is at least ``slowest * multiplier``."""
        resolution = self.time_resolution_ms
        steps = math.ceil(slowest_accepted_ms * self.time_multiplier / resolution)
        return max(1, steps) * resolution


def read_problem(path: Path) -> Problem:
    """Read the problem package in directory ``path``. Raises UnsupportedPackage when it is not
    one, or asks for what cannot be judged here (a multi-pass or submit-answer problem, a
    validator in another language or with build/run scripts, several output validators)."""
    config = _load_yaml(path / "problem.yaml")
    version = str(config.get("problem_format_version", LEGACY))
    format_version = LEGACY if version.startswith("legacy") else MODERN
    warnings: list[str] = []
    interactive, custom = _judging_kind(config, format_version=format_version, warnings=warnings)
    # From 2023-07 a custom validator is there or not; legacy says so in 'validation'.
    custom = custom or (format_version == MODERN and (path / "output_validator").is_dir())
    limits = config.get("limits") or {}
    if not isinstance(limits, dict):
        raise UnsupportedPackage(f"{path / 'problem.yaml'}: 'limits' must be a map")
    problem_flags = _args(config.get("validator_flags", ""), where="validator_flags")

    validator = _read_validator(path, format_version=format_version) if custom else None
    if custom and validator is None:
        raise UnsupportedPackage(f"{path}: custom validation, but no output validator is given")
    tests = tuple(_read_tests(path, problem_flags=problem_flags, custom=custom, warnings=warnings))
    if not any(t.name.startswith("secret/") for t in tests):
        raise UnsupportedPackage(f"{path / 'data' / 'secret'}: no test cases")

    multiplier = _time_multiplier(limits, format_version=format_version)
    resolution_s = float(limits.get("time_resolution", DEFAULT_TIME_RESOLUTION_S))
    output_mib = _positive_int(limits, "output")
    return Problem(
        path=path,
        name=_problem_name(config, default=path.name),
        format_version=format_version,
        interactive=interactive,
        tests=tests,
        validator=validator,
        submissions=tuple(_read_submissions(path, format_version=format_version)),
        time_limit_ms=_time_limit_ms(path, limits),
        time_multiplier=multiplier,
        time_resolution_ms=max(1, round(resolution_s * 1000)),
        memory_mb=_positive_int(limits, "memory"),
        output_kb=None if output_mib is None else output_mib * 1024,
        warnings=tuple(dict.fromkeys(warnings)),  # once each, in order
    )


def execute_requests(
    problem: Problem,
    submission: Submission,
    *,
    time_limit_ms: int,
    stop_on_first_failure: bool = True,
    max_tests: int = 256,
    memory_mb: int | None = None,
    output_kb: int | None = None,
) -> list[dict[str, Any]]:
    """The /execute bodies that judge ``submission`` on every test of ``problem``, in test
    order: one body, unless the tests use different checkers (groups with different default
    validator flags) or number more than ``max_tests``; then consecutive runs of tests. The
    limits: ``time_limit_ms`` of CPU, a wall limit of twice that plus a second, and
    ``memory_mb`` / ``output_kb`` (default: the problem's). Raises ValueError for a submission
    that cannot be judged, UnsupportedPackage for test data that is not UTF-8."""
    if submission.source is None:
        raise ValueError(f"{submission.name} cannot be judged: {submission.skip_reason}")
    limits: dict[str, int] = {"time_ms": time_limit_ms, "wall_time_ms": 2 * time_limit_ms + 1000}
    memory_mb = memory_mb if memory_mb is not None else problem.memory_mb
    output_kb = output_kb if output_kb is not None else problem.output_kb
    if memory_mb is not None:
        limits["memory_mb"] = memory_mb
    if output_kb is not None:
        limits["output_kb"] = output_kb
    judge: dict[str, Any]
    if problem.validator is None:
        judge = {}
    elif problem.interactive:
        judge = {"interactor": problem.validator.wire()}
    else:
        judge = {"checker": {"type": "program", **problem.validator.wire()}}
    bodies = []
    for batch in _batches(problem.tests, max_tests=max_tests):
        checker = {"checker": dict(batch[0].checker)} if batch[0].checker is not None else {}
        bodies.append(
            {
                **submission.source.wire(),
                "limits": limits,
                "tests": [test.wire() for test in batch],
                **judge,
                **checker,
                "stop_on_first_failure": stop_on_first_failure,
            }
        )
    return bodies


def default_checker(args: Sequence[str]) -> dict[str, Any]:
    """The request checker that behaves as Kattis' default output validator with ``args``.
    Raises UnsupportedPackage for an unknown flag or a tolerance that is not a number."""
    case_sensitive = space_sensitive = False
    tolerances: dict[str, float] = {}
    words = iter(args)
    for word in words:
        if word == "case_sensitive":
            case_sensitive = True
        elif word == "space_change_sensitive":
            space_sensitive = True
        elif word in ("float_tolerance", "float_absolute_tolerance", "float_relative_tolerance"):
            value = _tolerance(next(words, None), flag=word)
            if word != "float_relative_tolerance":
                tolerances["abs"] = value
            if word != "float_absolute_tolerance":
                tolerances["rel"] = value
        else:
            raise UnsupportedPackage(f"unknown flag {word!r} for the default output validator")
    if tolerances:
        return {"type": "float", **tolerances, "case_sensitive": case_sensitive}
    if space_sensitive:
        # Whitespace must match exactly, tokens too when case counts: byte for byte. Without
        # case_sensitive, exact is stricter on case than Kattis (read_problem warns).
        return {"type": "exact"}
    return {"type": "tokens", "case_sensitive": case_sensitive}


# --- problem.yaml ---------------------------------------------------------------------------


def _judging_kind(
    config: Mapping[str, Any], *, format_version: str, warnings: list[str]
) -> tuple[bool, bool]:
    """(interactive, custom validator) from ``validation`` (legacy) or ``type`` (2023-07)."""
    if format_version == LEGACY:
        words = str(config.get("validation", "default")).split()
        if not words or words[0] not in ("default", "custom"):
            raise UnsupportedPackage(f"validation {config.get('validation')!r} is not known")
        if "score" in words[1:] or config.get("type") == "scoring":
            warnings.append("a scoring problem: judged as pass-fail, scores are ignored")
        return "interactive" in words[1:], words[0] == "custom"
    kinds = config.get("type", "pass-fail")
    types = {kinds} if isinstance(kinds, str) else set(kinds)
    unsupported = types & {"multi-pass", "submit-answer"}
    if unsupported:
        raise UnsupportedPackage(f"problem type {sorted(unsupported)} cannot be judged here")
    if "scoring" in types:
        warnings.append("a scoring problem: judged as pass-fail, scores are ignored")
    return "interactive" in types, "interactive" in types


def _time_multiplier(limits: Mapping[str, Any], *, format_version: str) -> float:
    if format_version == LEGACY:
        return float(limits.get("time_multiplier", DEFAULT_TIME_MULTIPLIER[LEGACY]))
    multipliers = limits.get("time_multipliers") or {}
    return float(multipliers.get("ac_to_time_limit", DEFAULT_TIME_MULTIPLIER[MODERN]))


def _time_limit_ms(path: Path, limits: Mapping[str, Any]) -> int | None:
    seconds: object = limits.get("time_limit")
    timelimit_file = path / ".timelimit"
    if seconds is None and timelimit_file.is_file():
        seconds = timelimit_file.read_text().strip()
    if seconds is None:
        return None
    try:
        value = float(str(seconds))
    except ValueError:
        raise UnsupportedPackage(f"{path}: time limit {seconds!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise UnsupportedPackage(f"{path}: time limit {seconds!r} must be positive")
    return max(1, round(value * 1000))


def _positive_int(limits: Mapping[str, Any], key: str) -> int | None:
    value = limits.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise UnsupportedPackage(f"limits.{key} must be a positive integer, not {value!r}")
    return value


def _problem_name(config: Mapping[str, Any], *, default: str) -> str:
    name = config.get("name")
    if isinstance(name, dict) and name:
        return str(name.get("en", next(iter(name.values()))))
    return str(name) if name else default


# --- test data ------------------------------------------------------------------------------


def _read_tests(
    path: Path, *, problem_flags: list[str], custom: bool, warnings: list[str]
) -> Iterator[TestData]:
    data = path / "data"
    for group in ("sample", "secret"):
        root = data / group
        if not root.is_dir():
            continue
        inputs = sorted(
            (p for p in root.rglob("*.in") if p.is_file() and not _hidden(p, data)),
            key=lambda p: p.relative_to(data).with_suffix("").as_posix(),
        )
        for input_path in inputs:
            name = input_path.relative_to(data).with_suffix("").as_posix()
            answer_path = input_path.with_suffix(".ans")
            if not answer_path.is_file():
                raise UnsupportedPackage(f"{input_path}: no answer file {answer_path.name}")
            args = problem_flags + _group_args(input_path, data)
            if custom:
                if args:
                    warnings.append(
                        f"{name}: output validator arguments {args} are not passed on "
                        "(the API has no arguments for a program checker)"
                    )
                checker = None
            else:
                checker = default_checker(args)
                if "space_change_sensitive" in args:
                    note = (
                        "treated as exact (stricter on letter case than Kattis)"
                        if "case_sensitive" not in args and checker["type"] == "exact"
                        else "not applied with a float tolerance"
                    )
                    if "case_sensitive" not in args or checker["type"] == "float":
                        warnings.append(f"{name}: space_change_sensitive {note}")
            yield TestData(
                name=name, input_path=input_path, answer_path=answer_path, checker=checker
            )


def _group_args(input_path: Path, data: Path) -> list[str]:
    """The output validator arguments for a test: its own ``X.yaml``, else the closest
    ancestor group's ``test_group.yaml`` / ``testdata.yaml``, else none."""
    own = input_path.with_suffix(".yaml")
    if own.is_file():
        config = _load_yaml(own)
        if "output_validator_args" in config:
            return _args(config["output_validator_args"], where=str(own))
    directory = input_path.parent
    while True:
        for file_name in ("test_group.yaml", "testdata.yaml"):
            config_path = directory / file_name
            if config_path.is_file():
                config = _load_yaml(config_path)
                for key in ("output_validator_args", "output_validator_flags"):
                    if key in config:
                        return _args(config[key], where=f"{config_path}: {key}")
                return []
        if directory == data:
            return []
        directory = directory.parent


def _args(value: object, *, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    if isinstance(value, dict):
        # Legacy allows {"name": validator, "flags": "..."}: the flags are what we need.
        return _args(value.get("flags", ""), where=where)
    raise UnsupportedPackage(f"{where}: validator arguments must be a string or a list")


def _tolerance(value: str | None, *, flag: str) -> float:
    try:
        tolerance = float(value) if value is not None else math.nan
    except ValueError:
        tolerance = math.nan
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise UnsupportedPackage(f"{flag} needs a number >= 0, not {value!r}")
    return tolerance


# --- programs -------------------------------------------------------------------------------


def _read_validator(path: Path, *, format_version: str) -> Source | None:
    modern = path / "output_validator"
    legacy = path / "output_validators"
    if format_version == MODERN and modern.is_dir():
        return _program(modern, what="output validator")
    if not legacy.is_dir():
        return None
    programs = sorted(p for p in legacy.iterdir() if not p.name.startswith("."))
    if len(programs) > 1:
        names = ", ".join(p.name for p in programs)
        raise UnsupportedPackage(f"{legacy}: several output validators ({names}); we run one")
    return _program(programs[0], what="output validator") if programs else None


def _program(path: Path, *, what: str) -> Source:
    """A validator's source. Raises UnsupportedPackage for build/run scripts or a language we
    cannot run."""
    if path.is_dir() and any((path / script).exists() for script in ("build", "run")):
        raise UnsupportedPackage(f"{path}: a {what} with build/run scripts cannot be run here")
    source, reason = _source(path)
    if source is None:
        raise UnsupportedPackage(f"{path}: {what} cannot be run here: {reason}")
    return source


def _read_submissions(path: Path, *, format_version: str) -> Iterator[Submission]:
    root = path / "submissions"
    if not root.is_dir():
        return
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p, root)):
        expectation = expectation_for(directory.name, format_version=format_version)
        for entry in sorted(p for p in directory.iterdir() if not _hidden(p, root)):
            name = entry.relative_to(root).as_posix()
            if expectation is None:
                unknown = f"unknown expected-verdict directory {directory.name!r}"
                yield Submission(name, entry, None, None, skip_reason=unknown)
                continue
            source, reason = _source(entry)
            yield Submission(name, entry, expectation, source, skip_reason=reason)


def _source(path: Path) -> tuple[Source | None, str | None]:
    """A program (file, or directory of files) as a Source, or None and why not."""
    paths = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    paths = [p for p in paths if not p.name.startswith(".")]
    known = {LANGUAGE_OF_SUFFIX[p.suffix] for p in paths if p.suffix in LANGUAGE_OF_SUFFIX}
    if not known:
        suffixes = ", ".join(sorted({p.suffix or p.name for p in paths})) or "no files"
        return None, f"language not supported here ({suffixes})"
    if len(known) > 1:
        return None, f"more than one language ({', '.join(sorted(known))})"
    language = known.pop()
    sources = [p for p in paths if LANGUAGE_OF_SUFFIX.get(p.suffix) == language]
    try:
        files = [(p.name, p.read_bytes().decode("utf-8")) for p in sources]
    except UnicodeDecodeError as exc:
        return None, f"source is not UTF-8 ({exc.reason})"
    main = _entry_file(language, files)
    if main is not None:
        files.sort(key=lambda f: f[0] != main)
    return Source(language=language, files=tuple(files), main=main), None


def _entry_file(language: str, files: Sequence[tuple[str, str]]) -> str | None:
    """The entry file of a multi-file program (the languages table's defaults: Python's
    ``__main__.py``, the Java class declaring ``main``, ``main.js``/``index.js``), or None
    for a single file or when none stands out."""
    if len(files) == 1:
        return None
    names = [name for name, _ in files]
    if language == "python" and "__main__.py" in names:
        return "__main__.py"
    if language == "node":
        return next((n for n in ("main.js", "index.js") if n in names), None)
    if language == "java":
        mains = [name for name, text in files if "static void main(" in text.replace("  ", " ")]
        return mains[0] if len(mains) == 1 else None
    return None


# --- helpers --------------------------------------------------------------------------------


def _batches(tests: Sequence[TestData], *, max_tests: int) -> Iterator[list[TestData]]:
    """Consecutive runs of tests with the same checker, each at most ``max_tests`` long."""
    batch: list[TestData] = []
    for test in tests:
        if batch and (test.checker != batch[0].checker or len(batch) == max_tests):
            yield batch
            batch = []
        batch.append(test)
    if batch:
        yield batch


def _hidden(path: Path, root: Path) -> bool:
    """Whether a part of ``path`` below ``root`` starts with '.' (ignored by the format)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UnsupportedPackage(f"{path}: missing (is this a problem package?)")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UnsupportedPackage(f"{path}: not valid YAML: {exc}") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UnsupportedPackage(f"{path}: must be a YAML map")
    return config


def _read_text(path: Path) -> str:
    """The file's text, byte for byte (no newline translation: CRLF in a test stays CRLF)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedPackage(f"{path}: not UTF-8 ({exc.reason})") from None
