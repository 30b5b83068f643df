"""Settings from EXECUTOR_* variables, and the default concurrency."""

import pytest

from executor.limits import RUN_LIMITS
from executor.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_environ({"HOME": "/x"})
    assert settings.default_memory_mb == 256 and settings.max_wall_time_ms == 60000
    assert settings.concurrency() >= 2
    assert settings.queue_size() == 16 * settings.concurrency()


def test_values_are_read_and_validated() -> None:
    settings = Settings.from_environ({"EXECUTOR_MAX_CONCURRENCY": "3", "EXECUTOR_MAX_QUEUE": "0"})
    assert settings.concurrency() == 3 and settings.queue_size() == 0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"EXECUTOR_MAX_CONCURRENCY": "0"}, "EXECUTOR_MAX_CONCURRENCY='0'"),
        ({"EXECUTOR_ISOLATION": "loose"}, "EXECUTOR_ISOLATION='loose'"),
        ({"EXECUTOR_TIMEOUT": "1"}, "unknown setting EXECUTOR_TIMEOUT"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_environ(environ)


def test_a_bad_log_level_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="EXECUTOR_LOG_LEVEL='loud'"):
        Settings.from_environ({"EXECUTOR_LOG_LEVEL": "loud"})


def test_every_limit_has_a_default_and_a_maximum_setting() -> None:
    settings = Settings.from_environ(
        {"EXECUTOR_DEFAULT_TIME_MS": "7", "EXECUTOR_MAX_OUTPUT_KB": "2000"}
    )
    assert settings.limit_default("time_ms") == 7 and settings.limit_maximum("output_kb") == 2000
    for limit in RUN_LIMITS:
        assert settings.limit_default(limit.name) == (
            7 if limit.name == "time_ms" else limit.default
        )


def test_a_default_above_its_maximum_is_refused() -> None:
    with pytest.raises(SettingsError, match="EXECUTOR_DEFAULT_MEMORY_MB=2048 is above"):
        Settings.from_environ({"EXECUTOR_DEFAULT_MEMORY_MB": "2048"})


def test_operations_settings_have_their_defaults_and_bounds() -> None:
    settings = Settings.from_environ({})
    assert settings.drain_seconds == 25 and settings.drain_run_s() == 19
    assert settings.idempotency_ttl_s == 600 and settings.log_format == "text"
    assert settings.api_key_list() == ()
    with pytest.raises(SettingsError, match="EXECUTOR_DRAIN_SECONDS='5'"):
        Settings.from_environ({"EXECUTOR_DRAIN_SECONDS": "5"})
    with pytest.raises(SettingsError, match="EXECUTOR_LOG_FORMAT='xml'"):
        Settings.from_environ({"EXECUTOR_LOG_FORMAT": "xml"})


def test_api_keys_are_split_on_commas_and_trimmed() -> None:
    settings = Settings.from_environ({"EXECUTOR_API_KEYS": " a1 ,b2,, "})
    assert settings.api_key_list() == ("a1", "b2")
