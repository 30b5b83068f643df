"""The API key a request carries, in every form the clients of this service and its peers send.

This is the seam for API keys (issue 12): the auth middleware reads a request's key through
``candidate_api_key`` and decides; nothing here accepts or refuses a request.
"""

import base64
import binascii
from collections.abc import Mapping

# Read in this order; the first that holds a key wins.
KEY_HEADERS = ("authorization", "x-api-key", "x-auth-token")


def candidate_api_key(headers: Mapping[str, str]) -> str | None:
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
    configured keys, in constant time, is the caller's job."""
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
