"""Judge0 submissions kept for polling: in this replica's memory only, bounded in bytes, each
kept for a TTL once finished. They are lost when the replica restarts, and another replica of the
same deployment does not know them (poll the replica that took the submission)."""

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What an entry costs besides its text fields: its dict, keys, numbers (an estimate).
ENTRY_OVERHEAD_BYTES = 1024


class StoreFull(Exception):
    """Unfinished submissions fill the store: no room for another until some finish."""


@dataclass
class Entry:
    """A submission's fields, as Judge0 names them (text unencoded), and when it expires
    (monotonic seconds; None while it is unfinished, which never expires)."""

    record: dict[str, Any]
    expires_at: float | None = None
    size_bytes: int = field(default=0)


class Judge0Store:
    """Submissions by token, oldest first. Adding one first drops the expired, then the oldest
    finished ones until the new one fits within ``max_bytes``; unfinished ones are never
    dropped. ``clock`` gives monotonic seconds (tests pass their own)."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.clock = clock
        self.used_bytes = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, token: str, record: dict[str, Any], *, finished: bool) -> None:
        """Keep ``record`` under ``token`` (finished: its TTL starts now). Raises StoreFull
        when unfinished entries leave no room for it."""
        entry = Entry(record=record, size_bytes=_size(record))
        if finished:
            entry.expires_at = self.clock() + self.ttl_s
        self._make_room(entry.size_bytes)
        self._entries[token] = entry
        self.used_bytes += entry.size_bytes

    def update(self, token: str, fields: Mapping[str, Any], *, finished: bool) -> None:
        """Set ``fields`` of the entry ``token`` (gone already: nothing to do); finished, its
        TTL starts now. The entry's new size may push out the oldest finished entries."""
        entry = self._entries.get(token)
        if entry is None:
            return
        entry.record.update(fields)
        self.used_bytes -= entry.size_bytes
        entry.size_bytes = _size(entry.record)
        self.used_bytes += entry.size_bytes
        if finished:
            entry.expires_at = self.clock() + self.ttl_s
            self._evict(keep=token)

    def get(self, token: str) -> dict[str, Any] | None:
        """The record of ``token``, or None when unknown, dropped or expired."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self.clock():
            self._drop(token)
            return None
        return entry.record

    def _make_room(self, size_bytes: int) -> None:
        self._evict(keep=None, extra_bytes=size_bytes)
        if self.used_bytes + size_bytes > self.max_bytes:
            raise StoreFull(
                f"{len(self._entries)} unfinished submissions fill the "
                f"{self.max_bytes // (1024 * 1024)} MB kept for results"
            )

    def _evict(self, *, keep: str | None, extra_bytes: int = 0) -> None:
        now = self.clock()
        for token, entry in list(self._entries.items()):
            if entry.expires_at is not None and entry.expires_at <= now:
                self._drop(token)
        for token, entry in list(self._entries.items()):
            if self.used_bytes + extra_bytes <= self.max_bytes:
                return
            if entry.expires_at is not None and token != keep:
                self._drop(token)

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token)
        self.used_bytes -= entry.size_bytes


def _size(record: Mapping[str, Any]) -> int:
    text = sum(len(v.encode()) for v in record.values() if isinstance(v, str))
    return ENTRY_OVERHEAD_BYTES + text
