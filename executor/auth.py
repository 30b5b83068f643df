"""API keys: with EXECUTOR_API_KEYS set, every request but the probes must carry one (in any
form this service's clients or its peers' send: see ``presented_key``); compared in constant
time."""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from executor.errors import Unauthorized
from executor.responses import error_response

# The platform's probes must reach these without a key (ACA's probes send no headers).
OPEN_PATHS = frozenset({"/healthz", "/readyz"})


class ApiKeys:
    """The keys a request may present. Only their SHA-256 digests are kept: comparing digests
    of equal length with ``hmac.compare_digest`` takes the same time whatever the key given,
    and every key is compared, so neither a key's length nor which key matched shows in the
    timing."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(_digest(key) for key in keys)

    @property
    def enabled(self) -> bool:
        """Whether any key is set (else the service is open)."""
        return bool(self._digests)

    def principal(self, presented: str) -> str | None:
        """A stable, non-secret name for the key ``presented`` (its digest's first 16 hex
        digits: idempotency keys are kept apart per API key), or None if it is not valid."""
        given = _digest(presented)
        found = None
        for digest in self._digests:
            if hmac.compare_digest(given, digest):
                found = digest
        return found.hex()[:16] if found is not None else None


# Read in this order; the first that holds a key wins.
KEY_HEADERS = ("authorization", "x-api-key", "x-auth-token")


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key in ``headers`` (a case-insensitive mapping such as starlette's ``Headers``), or
    None when the request carries none. Accepted forms, first match wins:

    - ``Authorization: Bearer KEY`` (this service's own clients);
    - ``Authorization: KEY``, a bare key (Judge0's documented form);
    - ``Authorization: Basic base64(KEY:)`` or ``base64(:KEY)``: what Node's and most HTTP
      libraries send for a URL ``http://KEY@host/``, so a client that can set no header
      (piston-client) carries the key in its base URL;
    - ``X-API-Key: KEY``;
    - ``X-Auth-Token: KEY`` (Judge0's ``AUTHN_HEADER`` default).

    A header present but empty, or an ``Authorization`` of another scheme, gives no key from
    that header. The key is returned as sent (surrounding spaces removed); comparing it with the
    configured keys is ApiKeys' job."""
    for name in KEY_HEADERS:
        value = headers.get(name, "").strip()
        if not value:
            continue
        key = _from_authorization(value) if name == "authorization" else value
        if key:
            return key
    return None


def _from_authorization(value: str) -> str | None:
    scheme, _, credentials = value.partition(" ")
    credentials = credentials.strip()
    if not credentials:
        # One word: a bare key (a scheme name alone carries nothing, but cannot be told apart).
        return scheme
    if scheme.lower() == "bearer":
        return credentials
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # The key as the user (http://KEY@host) or as the password (http://:KEY@host).
        return (user or password) or None
    return None


class ApiKeyMiddleware:
    """Answers 401 (with WWW-Authenticate) to a request without a valid key, except on the
    probes' paths; lets every request through when no key is set. Puts the key's principal
    in ``scope["state"]["principal"]``. ``on_failure`` is called for each 401 (metrics)."""

    def __init__(self, app: ASGIApp, *, keys: ApiKeys, on_failure: Callable[[], None]) -> None:
        self.app = app
        self.keys = keys
        self.on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys.enabled or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        presented = presented_key(Headers(scope=scope))
        principal = self.keys.principal(presented) if presented is not None else None
        if principal is None:
            self.on_failure()
            why = "no API key" if presented is None else "the API key is not valid"
            response = error_response(
                Unauthorized(
                    f"{why}: send Authorization: Bearer <key>, X-API-Key: <key> or "
                    "X-Auth-Token: <key>",
                )
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
