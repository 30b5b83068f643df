"""Request and response models: what a submitted file may be named."""

import pytest
from pydantic import ValidationError

from executor.models import SourceFile


@pytest.mark.parametrize("name", ["-c", "-e", "--help.py", "@opts.java", "@", "-"])
def test_a_file_name_a_tool_could_read_as_an_option_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="must not start with '-' or '@'"):
        SourceFile(name=name, content="")


@pytest.mark.parametrize(
    "name", ["a-b.py", "x@y.java", "{.java", "100%.java", "a b.java", "Ärger.java", "\U0001f600"]
)
def test_other_plain_file_names_are_accepted(name: str) -> None:
    assert SourceFile(name=name, content="").name == name


@pytest.mark.parametrize(
    "name",
    [
        "a\x00.py",  # NUL
        "a\n.py",  # C0 control
        "a\x7f.py",  # DEL
        "a\x85.py",  # C1 control (NEL)
        "\u202eyp.a",  # right-to-left override: displays as another name
        "a\u200b.py",  # zero-width space
        "a\u2028.py",  # line separator
        "a\ud800.py",  # a lone surrogate: no file system name
    ],
)
def test_a_file_name_with_control_or_format_characters_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="control or format characters"):
        SourceFile(name=name, content="")
