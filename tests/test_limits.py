"""Every limit declared once: the request model, the settings and the README agree with
limits.RUN_LIMITS."""

import re
from pathlib import Path

from executor.limits import LIMIT_NAMES, RUN_LIMITS
from executor.models import Limits
from executor.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_request_model_has_one_field_per_limit() -> None:
    assert tuple(Limits.model_fields) == LIMIT_NAMES
    schema = Limits.model_json_schema()["properties"]
    for limit in RUN_LIMITS:
        assert schema[limit.name]["anyOf"][0]["minimum"] == limit.minimum


def test_settings_have_a_default_and_a_maximum_per_limit() -> None:
    for limit in RUN_LIMITS:
        assert Settings.model_fields[f"default_{limit.name}"].default == limit.default
        assert Settings.model_fields[f"max_{limit.name}"].default == limit.maximum


def test_the_readme_limits_table_matches() -> None:
    """Each row of the README's Limits table names a limit, its unit, default, maximum and
    minimum as RUN_LIMITS declares them, in the same order."""
    rows = re.findall(
        r"^\| `(\w+)` \| (\w+) \| (\d+) \| (\d+) \| (\d+) \|", README.read_text(), re.MULTILINE
    )
    assert [(name, unit, int(d), int(m), int(low)) for name, unit, d, m, low in rows] == [
        (limit.name, limit.unit, limit.default, limit.maximum, limit.minimum)
        for limit in RUN_LIMITS
    ]
