"""Judge0Store: submissions kept in bounded memory for a TTL, unfinished ones never dropped."""

import pytest

from executor.compat.judge0_store import ENTRY_OVERHEAD_BYTES, Judge0Store, StoreFull


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_finished_submission_is_kept_until_its_ttl_ends() -> None:
    clock = Clock()
    store = Judge0Store(ttl_s=10, max_bytes=10**6, clock=clock)
    store.add("a", {"stdout": "x"}, finished=True)
    clock.now = 9.9
    assert store.get("a") == {"stdout": "x"}
    clock.now = 10.0
    assert store.get("a") is None
    assert len(store) == 0 and store.used_bytes == 0


def test_an_unfinished_submission_never_expires_and_its_ttl_starts_when_it_finishes() -> None:
    clock = Clock()
    store = Judge0Store(ttl_s=10, max_bytes=10**6, clock=clock)
    store.add("a", {"status_id": 1}, finished=False)
    clock.now = 100
    assert store.get("a") == {"status_id": 1}
    store.update("a", {"status_id": 3, "stdout": "done"}, finished=True)
    clock.now = 109
    assert store.get("a") == {"status_id": 3, "stdout": "done"}
    clock.now = 110
    assert store.get("a") is None


def test_the_oldest_finished_submissions_make_room_and_unfinished_ones_stay() -> None:
    size = ENTRY_OVERHEAD_BYTES + 100
    store = Judge0Store(ttl_s=3600, max_bytes=3 * size, clock=Clock())
    store.add("pending", {"stdin": "p" * 100}, finished=False)
    store.add("old", {"stdout": "o" * 100}, finished=True)
    store.add("newer", {"stdout": "n" * 100}, finished=True)
    store.add("newest", {"stdout": "m" * 100}, finished=True)
    assert store.get("old") is None
    assert [store.get(t) is not None for t in ("pending", "newer", "newest")] == [True] * 3
    assert store.used_bytes == 3 * size


def test_a_store_full_of_unfinished_submissions_refuses_another() -> None:
    size = ENTRY_OVERHEAD_BYTES + 100
    store = Judge0Store(ttl_s=3600, max_bytes=2 * size, clock=Clock())
    store.add("a", {"stdin": "a" * 100}, finished=False)
    store.add("b", {"stdin": "b" * 100}, finished=False)
    with pytest.raises(StoreFull):
        store.add("c", {"stdin": "c" * 100}, finished=False)


def test_a_result_that_grows_an_entry_pushes_out_older_finished_ones_but_not_itself() -> None:
    size = ENTRY_OVERHEAD_BYTES + 100
    store = Judge0Store(ttl_s=3600, max_bytes=3 * size, clock=Clock())
    store.add("old", {"stdout": "o" * 100}, finished=True)
    store.add("run", {"stdin": "r" * 100}, finished=False)
    store.update("run", {"stdout": "x" * (size + 100)}, finished=True)
    assert store.get("old") is None
    assert store.get("run") is not None
    assert store.used_bytes == ENTRY_OVERHEAD_BYTES + 100 + size + 100
