"""One log line and the request metrics per HTTP request, under a request id (the client's
X-Request-Id when it sends a usable one, else a new one), echoed in the answer; a client that
leaves while sending its body ends its request here, as a disconnect."""

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from executor.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-Id"
# A client's id is echoed in a header and the log: printable ASCII without spaces, bounded.
_USABLE_ID = re.compile(r"[!-~]{1,128}")

# The status logged for a request whose client left before its answer (nginx's 499).
CLIENT_CLOSED_REQUEST = 499
# The stage (``disconnected=``, the disconnects' label) of a client that left while sending
# its request's body; the endpoints add "queued" and "running".
BODY_STAGE = "body"

log = logging.getLogger("executor.request")


class RequestLog:
    """ASGI middleware: logs ``method path status`` with the duration and what the endpoint put
    in ``scope["state"]`` (language, verdict, queue wait, replayed, ...), and counts the request
    in ``metrics``. Never logs a header, a body or a query string.

    A client that closes its connection before it sent the whole body (Starlette raises
    ClientDisconnect where any endpoint reads it) is logged and counted as a disconnect at
    stage BODY_STAGE with status 499, like one that leaves later: no error, no answer (there
    is no one to take it)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _USABLE_ID.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # what the client gets when the app fails before answering
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            if not answered:
                status = CLIENT_CLOSED_REQUEST
            state["disconnected"] = BODY_STAGE
            self.metrics.disconnects.labels(BODY_STAGE).inc()
        finally:
            duration_s = time.perf_counter() - started
            self._record(scope, status=status, duration_s=duration_s)

    def _record(self, scope: Scope, *, status: int, duration_s: float) -> None:
        route = scope.get("route")
        route_path = getattr(route, "path", "other")
        method = scope["method"]
        self.metrics.requests.labels(method, route_path, str(status)).inc()
        self.metrics.request_seconds.labels(route_path).observe(duration_s)
        state = scope.get("state", {})
        fields = {
            "request_id": state["request_id"],
            "method": method,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(duration_s * 1000, 1),
            **{key: state[key] for key in LOGGED_STATE if key in state},
        }
        extra = " ".join(f"{key}={state[key]}" for key in LOGGED_STATE if key in state)
        log.info(
            "%s %s %d %.1f ms %s",
            method,
            scope["path"],
            status,
            duration_s * 1000,
            extra,
            extra=fields,
        )


# What an endpoint may add to its request's log line (through request.state).
LOGGED_STATE = (
    "language",
    "verdict",
    "queue_wait_ms",
    "replayed",
    "disconnected",
    "drained",
    "answer",
    "principal",
)
