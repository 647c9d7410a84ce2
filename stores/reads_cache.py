"""An instance cache in front of a remote document store (Cosmos DB): what the API's reads answer, per instance.

Kept, bounded by bytes (least recently used out first):
- point reads: the document's rendered bytes and their gzip form, made once when the entry is filled;
- the range hashes answers (ids and content hashes of a range), from which the reader takes its items, which it
  keeps by content hash (api/rendered.py).

Staleness, bounded by `stale_seconds` (DOCUMENT_CACHE_STALE_SECONDS, at most 60 s):
- a final day is immutable: its point read is kept until evicted;
- a document that is not final, and any range hashes answer, are answered from here for `stale_seconds` after
  they were read, then read again: a materialization is seen by every instance within that bound;
- never across a materialization this instance has seen: a range hashes answer read from the store drops the
  kept point reads whose content hash it contradicts (a final day rewritten by a correction included).

The API's reads run on the worker's one event loop: no lock is taken here.
"""

from __future__ import annotations

import gzip
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from domain.ports import Document, DocumentReads, RenderedDocument, StoredItems

GZIP_LEVEL = 1  # as the API compresses (api.caching) and the embedded store keeps its gzip forms
PAIR_BYTES = 240  # what one (id, hash) pair of a kept range costs (tuple and two strings)
ENTRY_BYTES = 256  # charged per entry besides its bytes


@dataclass(slots=True)
class _Entry:
    value: RenderedDocument | tuple[tuple[str, str], ...]
    read_at: float
    cost: int


PointKey = tuple[str, str]
RangeKey = tuple[str, str, str, str]


class CachedDocumentReads:
    """DocumentReads answered from this instance's memory where the bounds above allow, else by `reads`."""

    def __init__(
        self,
        reads: DocumentReads,
        max_bytes: int,
        stale_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reads = reads
        self.max_bytes = max_bytes
        self.stale_seconds = stale_seconds
        self._clock = clock
        self._entries: OrderedDict[PointKey | RangeKey, _Entry] = OrderedDict()
        self.size = 0
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._entries.clear()
        self.size = 0

    def _fresh(self, key: PointKey | RangeKey, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        immutable = isinstance(entry.value, RenderedDocument) and entry.value.final
        if not immutable and now - entry.read_at > self.stale_seconds:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def _keep(self, key: PointKey | RangeKey, entry: _Entry) -> None:
        self._drop(key)
        if entry.cost > self.max_bytes:
            return
        self._entries[key] = entry
        self.size += entry.cost
        while self.size > self.max_bytes:
            _, oldest = self._entries.popitem(last=False)
            self.size -= oldest.cost

    def _drop(self, key: PointKey | RangeKey) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old.cost

    async def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        key = (region_code, doc_id)
        now = self._clock()
        entry = self._fresh(key, now)
        if entry is not None:
            assert isinstance(entry.value, RenderedDocument)
            return entry.value
        self.misses += 1
        found = await self.reads.get_rendered(region_code, doc_id)
        if found is None:  # absent ids are not kept: ids a caller makes up cannot grow the cache
            self._drop(key)
            return None
        if found.gzip is None:
            found = replace(found, gzip=gzip.compress(found.body, compresslevel=GZIP_LEVEL, mtime=0))
        cost = len(found.body) + len(found.gzip or b"") + ENTRY_BYTES
        self._keep(key, _Entry(found, now, cost))
        return found

    async def range_hashes(
        self, region_code: str, doc_type: str, first_key: str, last_key: str
    ) -> list[tuple[str, str]]:
        key = (region_code, doc_type, first_key, last_key)
        now = self._clock()
        entry = self._fresh(key, now)
        if entry is not None:
            assert isinstance(entry.value, tuple)
            return list(entry.value)
        self.misses += 1
        pairs = tuple(await self.reads.range_hashes(region_code, doc_type, first_key, last_key))
        for doc_id, content_hash in pairs:  # what this instance now knows to be current
            kept = self._entries.get((region_code, doc_id))
            if (
                kept is not None
                and isinstance(kept.value, RenderedDocument)
                and kept.value.content_hash != content_hash
            ):
                self._drop((region_code, doc_id))
        self._keep(key, _Entry(pairs, now, PAIR_BYTES * len(pairs) + ENTRY_BYTES))
        return list(pairs)

    async def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        return await self.reads.query_range(region_code, doc_type, first_key, last_key)

    async def range_items(
        self, region_code: str, doc_type: str, first_key: str, last_key: str, field: str
    ) -> dict[str, StoredItems]:
        # Not kept here: the reader keeps the runs it makes of them, by content hash.
        return await self.reads.range_items(region_code, doc_type, first_key, last_key, field)

    async def ping(self) -> None:
        await self.reads.ping()

    async def aclose(self) -> None:
        close = getattr(self.reads, "aclose", None)
        if close is not None:
            await close()
