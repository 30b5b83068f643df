"""Request and response bodies of the HTTP API; every quantity carries its unit in its name.

/execute's bodies are its own fields plus the judging ones (judging/models.py); the pieces both
share (Status, SourceFile, Limits) live in wire.py, below both, and are re-exported here.
"""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from executor.judging.models import JudgingRequest, JudgingResponse
from executor.wire import MAX_FILE_NAME_BYTES, Limits, SourceFile, Status

__all__ = [
    "MAX_FILE_NAME_BYTES",
    "MAX_SUBMISSION_ID_CHARS",
    "CompileResult",
    "ExecuteRequest",
    "ExecuteResponse",
    "JudgedResponse",
    "Limits",
    "RuntimeInfo",
    "SourceFile",
    "Status",
    "StreamFlags",
]

MAX_SUBMISSION_ID_CHARS = 255
# Printable ASCII without spaces: the id is echoed in logs and compared byte for byte.
SUBMISSION_ID_PATTERN = r"^[!-~]+$"


class ExecuteRequest(JudgingRequest):
    """POST /execute. Give either ``code`` (the main file's text) or ``files``. With ``tests``,
    ``expected_stdout`` or ``interactor`` (JudgingRequest) the submission is judged."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=1, max_length=64)
    version: str | None = Field(None, min_length=1, max_length=64)
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
    """The compilation step, present for compiled languages; on a judged request, the syntax
    check of an interpreted one."""

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


class JudgedResponse(JudgingResponse, ExecuteResponse):
    """200 answer to a judged POST /execute: ExecuteResponse's fields, those of the test that
    decided the verdict (the first that did not pass, else the last), plus ``verdict``,
    ``tests`` and ``summary``."""


class RuntimeInfo(BaseModel):
    language: str
    version: str
    aliases: list[str]
