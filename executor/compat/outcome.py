"""What the peers' answers share, read from this service's answer: how a run ended, in the words
and numbers of isolate (the sandbox under both Piston and Judge0), and how requests are read."""

import signal

from starlette.requests import Request

from executor.api import read_body
from executor.models import ExecuteResponse, Status
from executor.service import ExecutionService

# Statuses at which the service itself ended the run (it reports no exit code then).
LIMIT_STATUSES = frozenset(
    {
        Status.TIME_LIMIT_EXCEEDED,
        Status.MEMORY_LIMIT_EXCEEDED,
        Status.OUTPUT_LIMIT_EXCEEDED,
    }
)


def signal_number(name: str | None) -> int | None:
    """11 for ``SIGSEGV``; None for None or a name Python does not know."""
    if name is None:
        return None
    try:
        return int(signal.Signals[name])
    except KeyError:
        return None


def run_message(response: ExecuteResponse) -> str | None:
    """Why the run ended when it did not end well: the service's own message (a limit, a
    failure on its side), else isolate's words for an exit status or a signal; None for a run
    that exited 0."""
    if response.message:
        return response.message
    if response.signal is not None:
        number = signal_number(response.signal)
        return f"Caught fatal signal {number if number is not None else response.signal}"
    if response.exit_code:
        return f"Exited with error status {response.exit_code}"
    return None


def largest_memory_mb(service: ExecutionService) -> int:
    """The largest memory limit a run may have on this replica: the operator's maximum, and
    no more than the memory the replica has for runs."""
    budget_mb = service.admission.memory_budget_kb // 1024
    return max(1, min(service.settings.limit_maximum("memory_mb"), budget_mb))


async def request_body(request: Request) -> bytes:
    """The request's body, read under the operator's EXECUTOR_MAX_BODY_KB (BodyTooLarge past
    it), whatever its Content-Type: both peers' clients send JSON under other types."""
    service: ExecutionService = request.app.state.service
    return await read_body(request, limit_bytes=service.settings.max_body_kb * 1024)
