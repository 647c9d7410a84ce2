"""A value per key reused for a few seconds, per worker: what many callers ask for at once is computed once.

The first caller after expiry computes under the lock; concurrent callers wait for that result instead of
computing their own (N requests in a window cost one computation, not N at its start).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[Hashable, tuple[float, T]] = {}  # key -> (expiry, value)
        self._lock = threading.Lock()

    def get(self, key: Hashable, ttl_seconds: float, compute: Callable[[], T]) -> T:
        """The value kept for `key` while younger than `ttl_seconds`, else `compute()`'s (kept); 0: no reuse."""
        if ttl_seconds <= 0:
            return compute()
        kept = self._values.get(key)
        if kept is not None and self._clock() < kept[0]:
            return kept[1]
        with self._lock:
            kept = self._values.get(key)  # computed by the caller we waited for
            if kept is not None and self._clock() < kept[0]:
                return kept[1]
            value = compute()  # a failure is raised to this caller and nothing is kept
            self._values[key] = (self._clock() + ttl_seconds, value)
            return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
