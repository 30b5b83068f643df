"""A request turned into a Submission: byte-order marks dropped, compile limits resolved."""

import base64

import pytest

from executor.languages.plan import Toolchain
from executor.languages.registry import Runtime, all_plans
from executor.models import ExecuteRequest
from executor.settings import Settings
from executor.submission import build_submission, compile_limits

SETTINGS = Settings.from_environ({})
BOM = "\ufeff"


def runtime(language: str) -> Runtime:
    plan = next(p for p in all_plans() if p.name == language)
    return Runtime(plan=plan, toolchain=Toolchain(version="1", interpreter="/usr/bin/true"))


def submit(body: dict[str, object]) -> dict[str, bytes]:
    request = ExecuteRequest.model_validate(body)
    language = str(body["language"])
    return build_submission(request, runtime(language), settings=SETTINGS, resolve=runtime).files


def test_a_leading_byte_order_mark_is_dropped_from_java_code_before_naming_the_file() -> None:
    files = submit({"language": "java", "code": BOM + "public class Ärger {}\n"})
    assert files == {"Ärger.java": "public class Ärger {}\n".encode()}


@pytest.mark.parametrize("encoding", ["utf8", "base64"])
def test_a_leading_byte_order_mark_is_dropped_from_source_files_only(encoding: str) -> None:
    def content(text: str) -> str:
        return base64.b64encode(text.encode()).decode() if encoding == "base64" else text

    names = ("main.py", "helper.py", "data.txt")
    files = submit(
        {
            "language": "python",
            "files": [
                {"name": name, "content": content(BOM + "x\ufeff"), "encoding": encoding}
                for name in names
            ],
        }
    )
    assert files == {
        "main.py": "x\ufeff".encode(),
        "helper.py": "x\ufeff".encode(),
        # Data is the program's to read as it is.
        "data.txt": (BOM + "x\ufeff").encode(),
    }


def test_the_entry_file_without_a_suffix_loses_its_byte_order_mark_too() -> None:
    files = submit({"language": "python", "files": [{"name": "solution", "content": BOM + "1"}]})
    assert files == {"solution": b"1"}


def test_compile_limits_hold_a_compile_to_the_run_disk_limits() -> None:
    request = ExecuteRequest.model_validate(
        {"language": "java", "code": "class A {}", "limits": {"disk_mb": 16, "disk_files": 99}}
    )
    java = runtime("java")
    submission = build_submission(request, java, settings=SETTINGS, resolve=runtime)
    limits = compile_limits(java.plan, settings=SETTINGS, run=submission.limits)
    assert (limits.disk_kb, limits.disk_files) == (16 * 1024, 99)
    assert limits.output_kb == SETTINGS.compile_output_kb
    alone = compile_limits(java.plan, settings=SETTINGS)
    assert alone.disk_kb == SETTINGS.limit_maximum("disk_mb") * 1024
