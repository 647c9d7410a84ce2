"""Pre-serialized API items of unchanged documents: a bounded, process-wide LRU.

A 31-day hourly answer otherwise parses 31 whole day documents (their half-hourly data included) on every
request. Keyed by the document's id *and content hash*, an entry can never be stale: a re-materialized day
has a new hash, so the reader (which asks the store for the range's current hashes first) misses and renders
it again. One entry is one bytes object (the items' JSON, comma-separated) plus the item offsets: a few
large, long-lived allocations rather than thousands of small ones, which would pin the allocator's arenas
(RSS grew ~10x over the cached bytes when each item was its own object).
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class RenderedRun:
    """Consecutive items of one document, serialized."""

    blob: bytes  # item JSON texts joined by ","
    starts: array  # byte offset of each item in blob

    @classmethod
    def of(cls, items: Sequence[Any]) -> RenderedRun:
        starts, parts, position = array("I"), [], 0
        for item in items:
            text = orjson.dumps(item)
            starts.append(position)
            parts.append(text)
            position += len(text) + 1
        return cls(b",".join(parts), starts)

    def __len__(self) -> int:
        return len(self.starts)

    def fragment(self, first: int, stop: int) -> orjson.Fragment:
        """Items [first, stop) as one fragment; orjson writes it verbatim between the list's commas."""
        end = self.starts[stop] - 1 if stop < len(self.starts) else len(self.blob)
        return orjson.Fragment(self.blob[self.starts[first] : end])


def page_of(runs: Sequence[RenderedRun], offset: int, limit: int) -> tuple[list[orjson.Fragment], int, int]:
    """Fragments of items [offset, offset + limit) across `runs`, the number of those items, and the total."""
    fragments: list[orjson.Fragment] = []
    count = position = 0
    stop = offset + limit
    for run in runs:
        first, last = max(offset - position, 0), min(stop - position, len(run))
        if first < last:
            fragments.append(run.fragment(first, last))
            count += last - first
        position += len(run)
    return fragments, count, position


class RenderedItems:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, RenderedRun] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> RenderedRun | None:
        with self._lock:
            run = self._entries.get(key)
            if run is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return run

    def put(self, key: Hashable, items: Sequence[Any]) -> RenderedRun:
        """Serialize `items` once and keep them (unless bigger than the whole cache)."""
        run = RenderedRun.of(items)
        if len(run.blob) > self.max_bytes:
            return run
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old.blob)
            self._entries[key] = run
            self._size += len(run.blob)
            while self._size > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted.blob)
        return run

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)
