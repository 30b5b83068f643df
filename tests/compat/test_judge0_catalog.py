"""The Judge0 CE ids listed for the versions offered, and the ids a submission may name."""

import pytest

from executor.compat.judge0_catalog import language_for_id, listed_language
from executor.languages.plan import Toolchain
from executor.languages.registry import Runtime, all_plans

PLANS = {plan.name: plan for plan in all_plans()}


def _runtime(language: str, version: str) -> Runtime:
    return Runtime(PLANS[language], Toolchain(version=version, interpreter="/bin/true"))


@pytest.mark.parametrize(
    ("language", "version", "language_id", "name"),
    [
        ("python", "3.11.2", 92, "Python (3.11.2)"),
        ("python", "3.13.5", 109, "Python (3.13.5)"),
        ("python", "3.10.12", 71, "Python (3.10.12)"),
        ("node", "20.19.2", 97, "JavaScript (Node.js 20.19.2)"),
        ("node", "18.19.0", 93, "JavaScript (Node.js 18.19.0)"),
        ("java", "17.0.15", 91, "Java (JDK 17.0.15)"),
        ("java", "21.0.8", 91, "Java (JDK 21.0.8)"),
    ],
)
def test_each_version_offered_is_listed_under_its_judge0_ce_id(
    language: str, version: str, language_id: int, name: str
) -> None:
    listed = listed_language(_runtime(language, version))
    assert listed is not None
    assert (listed.language_id, listed.name) == (language_id, name)


def test_another_judge0_id_of_an_offered_language_runs_on_the_version_offered() -> None:
    runtimes = [_runtime("python", "3.11.2"), _runtime("java", "17.0.15")]
    found = language_for_id(runtimes, 71)
    assert found is not None
    assert (found.language_id, found.name, found.runtime.language) == (
        71,
        "Python (3.11.2)",
        "python",
    )
    assert language_for_id(runtimes, 63) is None  # Node is not offered
    assert language_for_id(runtimes, 70) is None  # Python 2 is another language
