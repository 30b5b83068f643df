"""Request and response bodies of the HTTP API; every quantity carries its unit in its name."""

from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from executor.limits import RUN_LIMITS

MAX_FILE_NAME_BYTES = 255
MAX_SUBMISSION_ID_CHARS = 255
# Printable ASCII without spaces: the id is echoed in logs and compared byte for byte.
SUBMISSION_ID_PATTERN = r"^[!-~]+$"


class Status(StrEnum):
    """What happened to a submission. Decided only in verdict.py."""

    OK = "ok"
    RUNTIME_ERROR = "runtime_error"
    TIME_LIMIT_EXCEEDED = "time_limit_exceeded"
    MEMORY_LIMIT_EXCEEDED = "memory_limit_exceeded"
    OUTPUT_LIMIT_EXCEEDED = "output_limit_exceeded"
    COMPILATION_ERROR = "compilation_error"
    INTERNAL_ERROR = "internal_error"


class SourceFile(BaseModel):
    """One file of the submission. ``name`` is a plain file name: no '/', no '..', no NUL."""

    model_config = ConfigDict(extra="forbid")

    name: str
    content: str
    encoding: Literal["utf8", "base64"] = "utf8"

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        if not name or name in (".", ".."):
            raise ValueError("file name must not be empty, '.' or '..'")
        if "/" in name or "\\" in name:
            raise ValueError(f"file name {name!r} must not contain '/' or '\\'")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError(f"file name {name!r} must not contain NUL or control characters")
        if len(name.encode()) > MAX_FILE_NAME_BYTES:
            raise ValueError(f"file name is longer than {MAX_FILE_NAME_BYTES} bytes")
        return name


# The fields come from limits.RUN_LIMITS, where every limit is declared once.
_LimitFields = create_model(
    "_LimitFields",
    __config__=ConfigDict(extra="forbid"),
    **{
        limit.name: (
            int | None,
            Field(None, ge=limit.minimum, description=f"{limit.scope} ({limit.unit})"),
        )
        for limit in RUN_LIMITS
    },
)  # type: ignore[call-overload]


class Limits(_LimitFields):
    """Per-request limits; each left out takes the operator's default. 0 is a value, not "unset"."""

    def asked(self, name: str) -> int | None:
        """The value the request gave for the limit ``name``, or None."""
        value: int | None = getattr(self, name)
        return value


class ExecuteRequest(BaseModel):
    """POST /execute. Give either ``code`` (the main file's text) or ``files``."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=1, max_length=64)
    version: str | None = Field(None, max_length=64)
    code: str | None = None
    files: list[SourceFile] | None = None
    main: str | None = Field(None, description="entry file among files (default: the first)")
    stdin: str = ""
    args: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    submission_id: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_SUBMISSION_ID_CHARS,
        pattern=SUBMISSION_ID_PATTERN,
        description="the caller's id for this submission (or the Idempotency-Key header): a "
        "repeat with the same id gets the first answer again instead of a new run",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.code is None) == (self.files is None):
            raise ValueError("give exactly one of 'code' (a string) or 'files' (a list)")
        if self.files is not None:
            if not self.files:
                raise ValueError("'files' must hold at least one file")
            names = [f.name for f in self.files]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"file names must be unique; repeated: {duplicates}")
            if self.main is not None and self.main not in names:
                raise ValueError(f"'main' names {self.main!r}, which is not among the files")
        elif self.main is not None:
            raise ValueError("'main' goes with 'files', not with 'code'")
        for arg in self.args:
            if "\x00" in arg:
                raise ValueError("arguments must not contain NUL")
        return self


class StreamFlags(BaseModel):
    """One flag per output stream."""

    stdout: bool
    stderr: bool


class CompileResult(BaseModel):
    """The compilation step, present for compiled languages."""

    status: Status
    stdout: str
    stderr: str
    exit_code: int | None
    time_ms: int
    wall_time_ms: int
    memory_kb: int


class ExecuteResponse(BaseModel):
    """200 answer to POST /execute.

    exit_code    the exit status when the program exited by itself, else null
    signal       the signal's name (e.g. "SIGSEGV") when a signal ended it, else null
    time_ms      CPU time (user + system) of the whole process tree, ms
    wall_time_ms real time from start to end, ms
    memory_kb    peak resident memory of the whole process tree, KB
    truncated    whether stdout / stderr were cut at the output limit
    invalid_utf8 whether stdout / stderr held bytes that are not UTF-8 (each replaced by U+FFFD)
    compile      the compilation step, or null for interpreted languages
    """

    status: Status
    message: str | None = Field(
        None, description="why, when the status needs a word: the limit reached, or what failed"
    )
    stdout: str
    stderr: str
    exit_code: int | None
    signal: str | None
    time_ms: int
    wall_time_ms: int
    memory_kb: int
    truncated: StreamFlags
    invalid_utf8: StreamFlags
    compile: CompileResult | None
    language: str
    version: str


class RuntimeInfo(BaseModel):
    language: str
    version: str
    aliases: list[str]
