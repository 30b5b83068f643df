"""presented_key: the key a request carries, in each form the clients send."""

import base64

import pytest
from starlette.datastructures import Headers

from executor.auth import presented_key


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"Authorization": "Bearer k-1"}, "k-1"),
        ({"authorization": "bearer  k-1 "}, "k-1"),
        ({"Authorization": "k-2"}, "k-2"),
        # piston-client with server "http://k-3@host": Node sends the user part as Basic.
        ({"Authorization": _basic("k-3")}, "k-3"),
        ({"Authorization": _basic("k-3:")}, "k-3"),
        ({"Authorization": _basic(":k-3")}, "k-3"),
        ({"X-API-Key": "k-4"}, "k-4"),
        ({"X-Auth-Token": "k-5"}, "k-5"),
        ({"Authorization": "Bearer k-6", "X-Auth-Token": "other"}, "k-6"),
        ({"Authorization": "", "X-Auth-Token": "k-7"}, "k-7"),
        ({"Authorization": "Digest abc", "X-API-Key": "k-8"}, "k-8"),
        ({"Authorization": "Basic !!!"}, None),
        ({}, None),
    ],
)
def test_the_key_is_found_in_every_form_clients_send(headers: dict[str, str], key: str) -> None:
    assert presented_key(Headers(headers=headers)) == key
