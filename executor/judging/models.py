"""The judging parts of POST /execute: tests, checkers, interactors in; verdicts and results out.

``JudgingRequest`` holds the request fields issue 10 adds (``tests``, ``expected_stdout``,
``checker``, ``interactor``, ``stop_on_first_failure``) so that ``ExecuteRequest`` can inherit
them; ``JudgingResponse`` holds the response fields (``verdict``, ``tests``, ``summary``), present
only when the request was judged. List sizes are bounded by a ``JudgingBounds`` given as
validation context (``model_validate(..., context={JUDGING_BOUNDS: bounds})``), so the operator's
settings reach them without global state; without one, ``JudgingBounds()`` applies.

Over 300 lines: fields with their validation and descriptions (the OpenAPI document is made
from them), one model per part of the request and of the answer.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from executor.judging.checkers import CheckerConfig, CheckerKind
from executor.wire import Limits, SourceFile, Status, has_control_characters

JUDGING_BOUNDS = "judging_bounds"  # the validation-context key of a JudgingBounds


@dataclass(frozen=True)
class JudgingBounds:
    """Operator bounds on a judged request; each a count or a size in bytes."""

    max_tests: int = 256
    max_test_name_bytes: int = 128
    max_program_files: int = 64


class Verdict(StrEnum):
    """The verdict of a test, or of a submission (its first non-accepted test's, in order)."""

    ACCEPTED = "accepted"
    WRONG_ANSWER = "wrong_answer"
    TIME_LIMIT_EXCEEDED = "time_limit_exceeded"
    MEMORY_LIMIT_EXCEEDED = "memory_limit_exceeded"
    OUTPUT_LIMIT_EXCEEDED = "output_limit_exceeded"
    RUNTIME_ERROR = "runtime_error"
    COMPILATION_ERROR = "compilation_error"
    INTERNAL_ERROR = "internal_error"
    SKIPPED = "skipped"  # not run: an earlier test failed and stop_on_first_failure was set


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExactChecker(_Strict):
    """Byte for byte."""

    type: Literal["exact"] = "exact"

    def to_config(self) -> CheckerConfig:
        return CheckerConfig(kind=CheckerKind.EXACT)


class LinesChecker(_Strict):
    """Lines equal once trailing whitespace and trailing blank lines are dropped."""

    type: Literal["lines"] = "lines"

    def to_config(self) -> CheckerConfig:
        return CheckerConfig(kind=CheckerKind.LINES)


class TokensChecker(_Strict):
    """Whitespace-separated tokens equal."""

    type: Literal["tokens"] = "tokens"
    case_sensitive: bool = True

    def to_config(self) -> CheckerConfig:
        return CheckerConfig(kind=CheckerKind.TOKENS, case_sensitive=self.case_sensitive)


class FloatChecker(_Strict):
    """Tokens; numbers equal within ``abs`` or ``rel`` (times the expected value's magnitude).
    Neither given: both are 1e-6."""

    type: Literal["float"] = "float"
    abs: float | None = Field(None, ge=0, allow_inf_nan=False, description="absolute tolerance")
    rel: float | None = Field(None, ge=0, allow_inf_nan=False, description="relative tolerance")
    case_sensitive: bool = True

    def to_config(self) -> CheckerConfig:
        return CheckerConfig(
            kind=CheckerKind.FLOAT,
            case_sensitive=self.case_sensitive,
            abs_tolerance=self.abs,
            rel_tolerance=self.rel,
        )


class ProgramSource(_Strict):
    """A judge's program (output validator or interactor): ``code`` or ``files``, like a
    submission's source; ``main`` names the entry file among ``files``."""

    language: str = Field(min_length=1, max_length=64)
    code: str | None = None
    files: list[SourceFile] | None = None
    main: str | None = None

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo) -> Self:
        if (self.code is None) == (self.files is None):
            raise ValueError("give exactly one of 'code' (a string) or 'files' (a list)")
        if self.files is None:
            if self.main is not None:
                raise ValueError("'main' goes with 'files', not with 'code'")
            return self
        bounds = _bounds(info)
        if not 1 <= len(self.files) <= bounds.max_program_files:
            raise ValueError(f"'files' must hold 1 to {bounds.max_program_files} files")
        names = [f.name for f in self.files]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"file names must be unique; repeated: {repeated}")
        if self.main is not None and self.main not in names:
            raise ValueError(f"'main' names {self.main!r}, which is not among the files")
        return self


class ProgramChecker(ProgramSource):
    """An output validator in the Kattis convention: run as ``validator input_file answer_file
    feedback_dir < output``; exit 42 accepted, 43 wrong answer, anything else a judge error."""

    type: Literal["program"] = "program"


class Interactor(ProgramSource):
    """An interactive validator in the Kattis convention: its stdout is the submission's stdin
    and the reverse; called as ``interactor input_file answer_file feedback_dir``; exit 42/43."""


BuiltinChecker = ExactChecker | LinesChecker | TokensChecker | FloatChecker
Checker = Annotated[BuiltinChecker | ProgramChecker, Field(discriminator="type")]
BUILTIN_CHECKER_NAMES = tuple(kind.value for kind in CheckerKind)


class TestCase(_Strict):
    """One test: ``stdin`` for the submission (an interactor's ``input_file`` instead, on an
    interactive problem), ``expected_stdout`` for the checker (the validator's
    ``answer_file``), ``limits`` overriding the submission's for this test."""

    __test__ = False  # a model, not a pytest class

    name: str | None = None
    stdin: str = ""
    expected_stdout: str | None = None
    limits: Limits | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is None:
            return None
        limit = _bounds(info).max_test_name_bytes
        if has_control_characters(name):
            raise ValueError(f"test name {name!r} must not contain control or format characters")
        if not name or len(name.encode()) > limit:
            raise ValueError(f"a test name must be 1 to {limit} bytes")
        return name


class JudgingRequest(_Strict):
    """The judging fields of POST /execute. The request is judged when it has ``tests``, a
    top-level ``expected_stdout`` (one test with the top-level ``stdin``) or an ``interactor``;
    otherwise these fields are absent and /execute answers as it always did."""

    tests: list[TestCase] | None = None
    expected_stdout: str | None = None
    checker: Checker | None = Field(
        None, description='a built-in checker\'s name or {"type", …}; default "lines"'
    )
    interactor: Interactor | None = None
    stop_on_first_failure: bool = False

    @field_validator("checker", mode="before")
    @classmethod
    def _checker_by_name(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in BUILTIN_CHECKER_NAMES:
                raise ValueError(
                    f"checker {value!r} is not one of {', '.join(BUILTIN_CHECKER_NAMES)}; "
                    'an output validator is {"type": "program", "language", "code" | "files"}'
                )
            return {"type": value}
        return value

    @field_validator("tests")
    @classmethod
    def _bounded_tests(cls, tests: list[TestCase] | None, info: ValidationInfo) -> object:
        if tests is None:
            return None
        limit = _bounds(info).max_tests
        if not 1 <= len(tests) <= limit:
            raise ValueError(f"'tests' must hold 1 to {limit} tests")
        names = [t.name if t.name is not None else str(i) for i, t in enumerate(tests, 1)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"test names must be unique (unnamed tests are 1, 2, …): {repeated}")
        return tests

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.tests is not None and self.expected_stdout is not None:
            raise ValueError(
                "give 'expected_stdout' inside each test, not at the top level with 'tests'"
            )
        if self.checker is not None and self.interactor is not None:
            raise ValueError("give 'checker' or 'interactor', not both: the interactor judges")
        if self.checker is not None and not self.judged:
            raise ValueError("'checker' needs 'tests' or 'expected_stdout' to check against")
        if self.stop_on_first_failure and not self.judged:
            raise ValueError("'stop_on_first_failure' needs 'tests'")
        return self

    @property
    def judged(self) -> bool:
        """Whether the request asks for judging (and the response carries a verdict)."""
        return (
            self.tests is not None
            or self.expected_stdout is not None
            or self.interactor is not None
        )

    def resolved_tests(self, *, stdin: str) -> list[TestCase]:
        """The tests to run, each named (``"1"``, ``"2"``, … where unnamed); with no ``tests``,
        one test of the top-level ``stdin`` and ``expected_stdout``. Empty when not judged."""
        if self.tests is None:
            if not self.judged:
                return []
            return [TestCase(name="1", stdin=stdin, expected_stdout=self.expected_stdout)]
        return [
            test if test.name is not None else test.model_copy(update={"name": str(number)})
            for number, test in enumerate(self.tests, 1)
        ]

    def resolved_checker(self) -> BuiltinChecker | ProgramChecker | None:
        """The checker to apply: the one given, else ``lines``; None with an interactor."""
        if self.interactor is not None:
            return None
        return self.checker if self.checker is not None else LinesChecker()


class TestResult(BaseModel):
    """One test's result. ``status`` is the run's (null for a skipped test, as are the times,
    memory and exit fields); ``verdict`` adds the checker's judgement to it; ``stdout`` and
    ``stderr`` are capped by the operator; ``checker_message`` says why a checker rejected the
    output (an output validator's judgemessage.txt), else null; ``message`` why the status or
    verdict needs a word (the limit reached, or how the judge program failed), else null."""

    __test__ = False

    name: str
    verdict: Verdict
    status: Status | None
    time_ms: int | None
    wall_time_ms: int | None
    memory_kb: int | None
    exit_code: int | None
    signal: str | None
    stdout: str
    stderr: str
    checker_message: str | None
    message: str | None = None

    @classmethod
    def skipped(cls, name: str) -> Self:
        """The result of a test not run because an earlier one failed."""
        return cls(
            name=name,
            verdict=Verdict.SKIPPED,
            status=None,
            time_ms=None,
            wall_time_ms=None,
            memory_kb=None,
            exit_code=None,
            signal=None,
            stdout="",
            stderr="",
            checker_message=None,
        )


class Summary(BaseModel):
    """Counts over the tests: ``passed`` accepted of ``total``; the largest CPU time (ms) and
    peak memory (KB) among the tests that ran."""

    passed: int
    total: int
    max_time_ms: int
    max_memory_kb: int


class JudgingResponse(BaseModel):
    """The judging fields of the /execute answer, present only when the request was judged."""

    verdict: Verdict
    tests: list[TestResult]
    summary: Summary


def _bounds(info: ValidationInfo) -> JudgingBounds:
    context = info.context
    if isinstance(context, dict):
        bounds = context.get(JUDGING_BOUNDS)
        if isinstance(bounds, JudgingBounds):
            return bounds
    return JudgingBounds()
