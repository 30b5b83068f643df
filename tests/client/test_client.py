"""executor.client against a real service: routing, retries, idempotency keys, typed errors."""

import asyncio
import random
import threading
import time

import httpx
import pytest

from executor.client import (
    AsyncClient,
    BadRequest,
    Client,
    Execution,
    NoRoute,
    RetryPolicy,
    Unavailable,
)
from executor.client.retry import parse_retry_after
from executor.testing import HostService, free_port

HELLO = {
    "python": "print('hello from python')",
    "node": "console.log('hello from node')",
    "java": (
        "class Main { public static void main(String[] a) {"
        ' System.out.println("hello from java"); } }'
    ),
}
SLEEP_HALF_SECOND = "import time; time.sleep(0.5); print('done')"


def test_a_submission_in_each_language_is_routed_and_answered(service: HostService) -> None:
    """1. Map each language to the service. 2. Run a hello world in each.
    Expected: status ok and the program's output, one attempt each, a fresh key each time."""
    with Client({language: service.url for language in HELLO}) as client:
        results = {language: client.execute(language, code) for language, code in HELLO.items()}
    for language, result in results.items():
        assert result.status == "ok", result.body
        assert result.stdout == f"hello from {language}\n"
        assert result.retries == 0 and result.url == service.url
        assert result.verdict is None  # no tests were sent
    assert len({result.idempotency_key for result in results.values()}) == len(HELLO)


def test_the_async_client_runs_submissions_concurrently(service: HostService) -> None:
    """1. Send 12 submissions at once from one AsyncClient, each with its own stdin.
    Expected: every answer is the one for its own input."""

    async def run_all() -> list[Execution]:
        async with AsyncClient(service.url) as client:
            return await asyncio.gather(
                *(
                    client.execute("python", "print(int(input()) * 2)", stdin=str(n))
                    for n in range(12)
                )
            )

    results = asyncio.run(run_all())
    assert [result.stdout for result in results] == [f"{2 * n}\n" for n in range(12)]


def test_a_full_queue_is_retried_after_retry_after_with_one_key_per_submission(
    single_slot_service: HostService,
) -> None:
    """1. A service with one slot and no queue; an httpx client that records each request.
    2. Four submissions of half a second at once, with an API key.
    Expected: all four answered ok; some attempts were 429s, each followed by a wait of at least
    the Retry-After the service sent (1 s); every attempt of a submission carried that
    submission's Idempotency-Key and the API key."""
    sent: list[httpx.Request] = []
    recorder = httpx.Client(event_hooks={"request": [sent.append]})
    with Client(
        {"python": single_slot_service.url}, api_key="k-123", http_client=recorder, seed=7
    ) as client:
        threads_results: list[Execution] = []
        lock = threading.Lock()

        def submit() -> None:
            result = client.execute("python", SLEEP_HALF_SECOND)
            with lock:
                threads_results.append(result)

        threads = [threading.Thread(target=submit) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    recorder.close()

    assert [r.status for r in threads_results] == ["ok"] * 4
    rate_limited = [a for r in threads_results for a in r.attempts if a.status == 429]
    assert rate_limited, "one slot and no queue: some attempts must have been 429"
    assert all(a.delay_s >= 1.0 for a in rate_limited), rate_limited
    keys_by_result = {r.idempotency_key: r for r in threads_results}
    assert len(keys_by_result) == 4
    seen = [request.headers["idempotency-key"] for request in sent]
    for key, result in keys_by_result.items():
        assert seen.count(key) == len(result.attempts)
    assert {request.headers["authorization"] for request in sent} == {"Bearer k-123"}


def test_a_service_that_is_not_listening_yet_is_waited_for() -> None:
    """1. A client starts a submission to a port where nothing listens yet.
    2. The service starts on that port meanwhile.
    Expected: the submission is answered once the service is up; the first attempts failed to
    connect and were marked as never sent."""
    port = free_port()
    outcome: list[Execution | BaseException] = []
    first_try = threading.Event()
    recorder = httpx.Client(event_hooks={"request": [lambda request: first_try.set()]})

    def submit() -> None:
        retry = RetryPolicy(deadline_s=120)
        with Client(f"http://127.0.0.1:{port}", retry=retry, http_client=recorder) as client:
            try:
                outcome.append(client.execute("python", "print(42)"))
            except BaseException as exc:  # handed to the test's thread
                outcome.append(exc)

    thread = threading.Thread(target=submit)
    thread.start()
    assert first_try.wait(timeout=30)
    service = HostService.spawn(port=port)
    try:
        service.wait_ready()
        thread.join(timeout=120)
    finally:
        service.stop()
        recorder.close()
    [result] = outcome
    assert isinstance(result, Execution), result
    assert result.stdout == "42\n"
    assert result.retries >= 1
    assert result.attempts[0].error == "ConnectError"
    assert not any(a.may_have_run for a in result.attempts)


def test_the_deadline_ends_the_retries_with_unavailable() -> None:
    """1. A client with a 1.5 s deadline sends to a port where nothing listens.
    Expected: Unavailable after several attempts, within about the deadline."""
    client = Client(f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(deadline_s=1.5))
    started = time.monotonic()
    with client, pytest.raises(Unavailable) as raised:
        client.execute("python", "print(1)")
    assert time.monotonic() - started < 3.0
    assert len(raised.value.attempts) >= 2
    assert raised.value.status_code is None


def test_a_dead_url_of_a_language_is_skipped_for_the_next(service: HostService) -> None:
    """1. Python maps to a dead URL, then the live service. 2. Two submissions.
    Expected: the first fails over to the live URL; the second starts at the live one."""
    dead = f"http://127.0.0.1:{free_port()}"
    with Client({"python": [dead, service.url]}) as client:
        first = client.execute("python", "print(1)")
        second = client.execute("python", "print(2)")
    assert [a.url for a in first.attempts] == [dead, service.url]
    assert [a.url for a in second.attempts] == [service.url]


def test_request_errors_are_typed_and_never_retried(service: HostService) -> None:
    """1. A language the service does not offer; a request field the service does not know yet
    (passed through as given); a language with no route.
    Expected: BadRequest with the service's code after one attempt each; NoRoute with none."""
    with Client(service.url) as client:
        with pytest.raises(BadRequest) as unknown:
            client.execute("cobol", "DISPLAY 'HI'.")
        with pytest.raises(BadRequest) as extra:
            client.execute("python", "print(1)", priority="high")
    assert (unknown.value.status_code, unknown.value.code) == (400, "unknown_language")
    assert extra.value.status_code == 422 and "priority" in str(extra.value.body)
    assert len(unknown.value.attempts) == len(extra.value.attempts) == 1
    with Client({"python": service.url}) as client, pytest.raises(NoRoute):
        client.execute("java", HELLO["java"])


def test_back_off_grows_with_jitter_and_honours_retry_after() -> None:
    """Expected: retry n waits between half and all of base x 2^(n-1) (capped), never less than
    a Retry-After and at most a quarter more."""
    policy = RetryPolicy(base_delay_s=0.2, max_delay_s=2.0)
    rng = random.Random(1)
    for retry, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 2.0), (9, 2.0)]:
        delays = [policy.delay_s(retry, retry_after_s=None, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not fixed
    after = [policy.delay_s(1, retry_after_s=3.0, rng=rng) for _ in range(200)]
    assert min(after) >= 3.0 and max(after) <= 3.75


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now_s=1445412480.0) == 5.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now_s=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
