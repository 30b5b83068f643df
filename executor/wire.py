"""The building blocks of the HTTP API's bodies that /execute and judging share: a run's status,
a source file, the limit fields. Every quantity carries its unit in its name."""

import unicodedata
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
)

from executor.limits import RUN_LIMITS

MAX_FILE_NAME_BYTES = 255


class Status(StrEnum):
    """What happened to a submission. Decided only in verdict.py."""

    OK = "ok"
    RUNTIME_ERROR = "runtime_error"
    TIME_LIMIT_EXCEEDED = "time_limit_exceeded"
    MEMORY_LIMIT_EXCEEDED = "memory_limit_exceeded"
    OUTPUT_LIMIT_EXCEEDED = "output_limit_exceeded"
    COMPILATION_ERROR = "compilation_error"
    INTERNAL_ERROR = "internal_error"


# What no name may hold: C0 and C1 controls and DEL (Cc); format characters such as the
# bidirectional overrides and zero-width spaces, which make a name display as another (Cf); lone
# surrogates, which no file system name can encode (Cs); line and paragraph separators (Zl, Zp).
_REFUSED_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def has_control_characters(name: str) -> bool:
    """Whether ``name`` holds a character of _REFUSED_IN_NAMES's categories."""
    return any(unicodedata.category(c) in _REFUSED_IN_NAMES for c in name)


class SourceFile(BaseModel):
    """One file of the submission. ``name`` is a plain file name: no '/', no '..', no NUL, and
    nothing a tool could read as an option (a leading '-' or '@')."""

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
        if has_control_characters(name):
            raise ValueError(
                f"file name {name!r} must not contain NUL, control or format characters"
            )
        if len(name.encode()) > MAX_FILE_NAME_BYTES:
            raise ValueError(f"file name is longer than {MAX_FILE_NAME_BYTES} bytes")
        # Entry and source names reach command lines, where python reads `-c` as code to run
        # and javac reads `@opts.java` as a file of its options: refused for every language
        # and every file, one rule instead of each tool's quoting.
        if name.startswith(("-", "@")):
            raise ValueError(f"file name {name!r} must not start with '-' or '@'")
        return name


def _a_number(value: object) -> object:
    """A limit is a JSON number: pydantic's lax integers would take ``"100"`` and ``true`` (as
    1 ms). A whole float (``2000.0``) still passes, as pydantic takes it."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer, not a string or a boolean")
    return value


# The fields come from limits.RUN_LIMITS, where every limit is declared once.
_LimitFields = create_model(
    "_LimitFields",
    __config__=ConfigDict(extra="forbid"),
    **{
        limit.name: (
            Annotated[int | None, BeforeValidator(_a_number)],
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
