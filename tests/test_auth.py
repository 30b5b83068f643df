"""API keys: which requests need one, how it is given, what a refusal looks like, and that the
keys never reach the log; and a service without keys says it is open."""

import pytest
from starlette.datastructures import Headers

from executor.auth import ApiKeys, presented_key
from executor.settings import Settings
from tests.support import Service, start_service

KEYS = ("key-one-9f8e7d6c5b4a", "key-two-0a1b2c3d4e5f")
HELLO = {"language": "python", "code": "print('hi')"}
PROTECTED = ("/info", "/runtimes", "/metrics", "/openapi.json")


def test_only_the_keys_set_are_valid_and_each_has_its_own_principal() -> None:
    keys = ApiKeys(KEYS)
    first, second = keys.principal(KEYS[0]), keys.principal(KEYS[1])
    assert first and second and first != second
    assert KEYS[0] not in first
    assert keys.principal("key-one") is None and keys.principal("") is None
    assert not ApiKeys([]).enabled


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer  abc "}, "abc"),
        ({"x-api-key": "abc"}, "abc"),
        ({"authorization": "Basic abc"}, None),
        ({}, None),
    ],
)
def test_a_key_is_taken_from_bearer_or_x_api_key(headers: dict[str, str], key: str | None) -> None:
    assert presented_key(Headers(headers)) == key


@pytest.fixture(scope="module")
def keyed_service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    env = {"EXECUTOR_API_KEYS": ",".join(KEYS), "EXECUTOR_LANGUAGES": "python"}
    with start_service(tmp_path_factory.mktemp("keyed"), env) as service:
        yield service


def test_without_a_valid_key_everything_but_the_probes_is_401(keyed_service: Service) -> None:
    """1. Call every endpoint without a key and with a wrong one. 2. Call the probes.
    Expected: 401 JSON errors with WWW-Authenticate; /healthz and /readyz answer 200."""
    client = keyed_service.client
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
        refused = client.post("/execute", json=HELLO, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["error"]["code"] == "unauthorized"
        for path in PROTECTED:
            assert client.get(path, headers=headers).status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_either_header_with_either_key_is_let_in(keyed_service: Service) -> None:
    client = keyed_service.client
    for headers in ({"Authorization": f"Bearer {KEYS[0]}"}, {"X-API-Key": KEYS[1]}):
        result = client.post("/execute", json=HELLO, headers=headers)
        assert result.status_code == 200 and result.json()["stdout"] == "hi\n"
        for path in PROTECTED:
            assert client.get(path, headers=headers).status_code == 200
    info = client.get("/info", headers={"X-API-Key": KEYS[0]}).json()
    assert info["auth"] == {"api_keys_required": True, "warning": None}


def test_keys_never_reach_the_log(keyed_service: Service) -> None:
    client = keyed_service.client
    client.post("/execute", json=HELLO, headers={"Authorization": f"Bearer {KEYS[0]}"})
    client.get("/info", headers={"X-API-Key": f"{KEYS[1]}-wrong"})
    log = keyed_service.log()
    assert "2 set" in log
    for key in KEYS:
        assert key not in log


def test_a_service_without_keys_says_it_is_open(service: Service) -> None:
    info = service.info()
    assert info["auth"]["api_keys_required"] is False
    assert "EXECUTOR_API_KEYS" in info["auth"]["warning"]
    assert "OPEN" in service.log()


def test_the_key_setting_is_not_shown_when_settings_are_printed() -> None:
    settings = Settings.from_environ({"EXECUTOR_API_KEYS": KEYS[0]})
    assert KEYS[0] not in repr(settings) and KEYS[0] not in str(settings.model_dump())
