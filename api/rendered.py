"""Pre-serialized API items of unchanged documents: a bounded, process-wide LRU.

A 31-day hourly answer otherwise parses 31 whole day documents (their half-hourly data included) on every
request. Keyed by the document's id *and content hash*, an entry can never be stale: a re-materialized day
has a new hash, so the reader (which asks the store for the range's current hashes first) misses and renders
it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import orjson

Items = tuple[orjson.Fragment, ...]


class RenderedItems:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Items, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Items | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, items: Sequence[Any]) -> Items:
        """Serialize `items` once and keep them (unless bigger than the whole cache)."""
        encoded = [orjson.dumps(item) for item in items]
        size = sum(len(e) for e in encoded)
        fragments = tuple(orjson.Fragment(e) for e in encoded)
        if size > self.max_bytes:
            return fragments
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._entries[key] = (fragments, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._size -= evicted
        return fragments

    def get_or_render(self, key: Hashable, render: Callable[[], Sequence[Any]]) -> Items:
        cached = self.get(key)
        return cached if cached is not None else self.put(key, render())

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)
