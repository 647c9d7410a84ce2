"""Pre-serialized API items of unchanged documents: a bounded, process-wide LRU.

A 31-day hourly answer otherwise parses 31 whole day documents (their half-hourly data included) on every
request. Keyed by the document's content hash (a sha256 of every field, its id included), an entry can never
be stale: a re-materialized day has a new hash, so the reader (which asks the store for the range's current
hashes first) misses and renders it again. One entry is one bytes object (the items' JSON, comma-separated)
plus the item offsets: a few large, long-lived allocations rather than thousands of small ones, which would
pin the allocator's arenas (RSS grew ~10x over the cached bytes when each item was its own object).

The cache is bounded by entries as well as bytes, and every entry is charged a fixed overhead on top of its
JSON: an empty run is not free. Its keys come from what the store holds (the hash) and from enums (field,
source type: the key's space), never from free request values: a month's run holds all its days with their
dates, and a range takes its window of them at read time instead of caching each clipping.
"""

from __future__ import annotations

import struct
import threading
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from zlib_ng import zlib_ng

from api.caching import GZIP_LEVEL
from domain.items import serialized


@dataclass(slots=True, eq=False)  # compared by identity: never blob against blob
class RenderedRun:
    """Consecutive items of one document, serialized. Only `used` and the deflate segment change once made."""

    blob: bytes  # item JSON texts joined by ","
    starts: array  # byte offset of each item in blob
    dates: tuple[str, ...] = ()  # each item's date (ascending), when a range takes a window of the run by date
    _deflated: bytes | None = None  # blob as a deflate segment (see `deflated`), made when a gzip page first needs it
    count: int = field(init=False)  # len(starts), held here: a page reads no other object of a whole run
    used: bool = field(default=False, init=False)  # hit since the cache's clock hand last passed it

    def __post_init__(self) -> None:
        self.count = len(self.starts)

    @classmethod
    def of(cls, items: Sequence[Any], dates: Sequence[str] = ()) -> RenderedRun:
        blob, starts = serialized(items)
        return cls.stored(blob, starts, dates)

    @classmethod
    def stored(cls, blob: bytes, starts: Sequence[int], dates: Sequence[str] = ()) -> RenderedRun:
        """A run of items serialized beforehand (domain.items: by the store, when the document was written)."""
        if dates and len(dates) != len(starts):
            raise ValueError("one date per item")
        return cls(blob, array("I", starts), tuple(dates))

    @property
    def deflated(self) -> bytes:
        """The run's part of a page's gzip form (an empty run is on no page)."""
        if self._deflated is None:
            self._deflated = deflated(self.blob) if self.blob else b""
        return self._deflated

    def __len__(self) -> int:
        return self.count

    @property
    def cost(self) -> int:
        """What the entry holds, in bytes (its deflate segment counted as a quarter of the blob, made or not),
        with a fixed share for the objects themselves."""
        held = len(self.blob) + len(self.blob) // 4 + self.starts.itemsize * len(self.starts)
        return held + 64 * len(self.dates) + ENTRY_OVERHEAD

    def window(self, first_date: str, last_date: str) -> RunWindow:
        """The items dated within [first_date, last_date] (the whole run when it has no dates)."""
        dates = self.dates
        if not dates or (first_date <= dates[0] and dates[-1] <= last_date):  # whole (a year's inner months)
            return self, 0, self.count
        return self, bisect_left(dates, first_date), bisect_right(dates, last_date)

    def chunk(self, first: int, stop: int) -> Chunk:
        """Items [first, stop) as their JSON texts joined by ",": the blob itself when whole, else a view of it
        (no copy: the page's one join copies it)."""
        if first == 0 and stop >= self.count:  # the whole run (a day's intervals)
            return self.blob
        end = self.starts[stop] - 1 if stop < len(self.starts) else len(self.blob)
        return memoryview(self.blob)[self.starts[first] : end]

    def deflated_chunk(self, first: int, stop: int) -> bytes:
        """`chunk(first, stop)` as a deflate segment: kept for the whole run, compressed now for a part."""
        if first == 0 and stop >= self.count:
            return self.deflated
        return deflated(self.chunk(first, stop))


# Items [first, stop) of a run.
RunWindow = tuple[RenderedRun, int, int]
# Serialized items, comma-separated: a run's blob or a view of part of it.
Chunk = bytes | memoryview
# Charged per entry besides its bytes: the run, its key tuple and its two dict slots (~ what CPython allocates).
ENTRY_OVERHEAD = 512


def page_of(windows: Sequence[RunWindow], offset: int, limit: int) -> tuple[list[RunWindow], int, int]:
    """The parts of runs holding items [offset, offset + limit) across `windows` (none empty), their item count,
    and the total."""
    total = sum(end - begin for _, begin, end in windows)
    if offset == 0 and total <= limit:  # the whole range on one page (the usual case): every window whole
        return [window for window in windows if window[1] < window[2]], total, total
    parts: list[RunWindow] = []
    count = position = 0
    stop = offset + limit
    for run, begin, end in windows:
        size = end - begin
        first, last = max(offset - position, 0), min(stop - position, size)
        if first < last:
            parts.append((run, begin + first, begin + last))
            count += last - first
        position += size
    return parts, count, position


def chunks_of(parts: Sequence[RunWindow]) -> list[Chunk]:
    # A whole run (a year's inner months) is its blob: no method call for it.
    return [run.blob if first == 0 and stop == run.count else run.chunk(first, stop) for run, first, stop in parts]


_USED = attrgetter("used")


def whole(runs: Sequence[RenderedRun]) -> list[RunWindow]:
    """Each run with items, whole."""
    return [(run, 0, run.count) for run in runs if run.count]


def deflated(data: Chunk) -> bytes:
    """`data` as a raw deflate segment of its own: no reference outside itself and ending byte-aligned on a
    sync flush, not final. Segments made apart, one after another, are one valid deflate stream."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _stored(data: bytes) -> bytes:
    """`data` as stored (uncompressed) deflate blocks: a page's small head costs no compressor."""
    if len(data) <= 0xFFFF:  # one block (a page's head, its tail)
        return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data
    blocks = [data[k : k + 0xFFFF] for k in range(0, len(data), 0xFFFF)]
    return b"".join(b"\x00" + struct.pack("<HH", len(b), len(b) ^ 0xFFFF) + b for b in blocks)


# gzip member header: deflate, no name, mtime 0, XFL 4 (fastest level), OS unknown (as gzip.compress writes).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff"
_DEFLATED_COMMA = deflated(b",")
_FINAL_BLOCK = b"\x03\x00"  # an empty final block: what zlib writes to finish an empty stream


def gzipped(head: bytes, parts: Sequence[RunWindow], tail: bytes, body: bytes) -> bytes:
    """The gzip form of `body` = head + the parts' items comma-separated + tail, from the runs' deflate
    segments: only the CRC of the body and the parts that cut a run are computed (a 31-day page compressed
    whole costs ~1.4 ms). The CRC is zlib-ng's (the same CRC-32, with the CPU's carry-less multiply): the
    stdlib's took ~125 µs for a ~326 KB page, zlib-ng's ~8 µs."""
    # header, head, the parts with a deflated comma between each two, tail, final block, trailer.
    segments: list[bytes] = [_DEFLATED_COMMA] * (2 * len(parts) + 4) if parts else [b""] * 5
    segments[0], segments[1] = _GZIP_HEADER, _stored(head)
    segments[2 : 2 * len(parts) + 1 : 2] = [
        run.deflated if first == 0 and stop == run.count else run.deflated_chunk(first, stop)
        for run, first, stop in parts
    ]
    segments[-3:] = [_stored(tail), _FINAL_BLOCK, struct.pack("<II", zlib_ng.crc32(body), len(body) & 0xFFFFFFFF)]
    return b"".join(segments)


def joined(head: bytes, chunks: Sequence[Chunk], tail: bytes) -> bytes:
    """head + the chunks comma-separated + tail, in one copy (a 31-day page is ~215 KB)."""
    if not chunks:
        return head + tail
    parts: list[Chunk] = [b","] * (2 * len(chunks) + 1)
    parts[0] = head
    parts[1::2] = chunks
    parts[-1] = tail
    return b"".join(parts)


class RenderedItems:
    """Runs by space (a field and source type: enums) and content hash, evicted oldest first with a second
    chance for those hit since (CLOCK, an approximation of least recently used).

    A lookup is one dict probe by the store's hash string (its hash already computed, no key string built);
    a hit only sets its run's `used` flag (one C scan finds them all set in the usual case), where moving
    each hit entry to the young end of an ordered dict cost a second, cold, lookup per run. Eviction, on
    a put, takes the oldest entry: one hit since it was last passed goes to the young end, flag cleared."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entries: int = 20_000) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._spaces: dict[str, dict[str, RenderedRun]] = {}
        self._order: OrderedDict[tuple[str, str], RenderedRun] = OrderedDict()  # oldest (put or passed) first
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, space: str, content_hash: str) -> RenderedRun | None:
        return self.get_many(space, [content_hash])[0]

    def get_many(self, space: str, content_hashes: Sequence[str]) -> list[RenderedRun | None]:
        """`get` of each hash, under one lock (a 31-day range asks for 31 runs)."""
        with self._lock:
            found = self._spaces.get(space)
            if found is None:
                self.misses += len(content_hashes)
                return [None] * len(content_hashes)
            runs = [found.get(h) for h in content_hashes]
            missed = runs.count(None)  # `is` first: a run is never compared by value (eq=False)
            self.hits += len(runs) - missed
            self.misses += missed
            if missed or not all(map(_USED, runs)):  # (all set already: nothing to write)
                for run in runs:
                    if run is not None:
                        run.used = True
        return runs

    def put(self, space: str, content_hash: str, items: Sequence[Any], dates: Sequence[str] = ()) -> RenderedRun:
        """Serialize `items` once and keep them (unless bigger than the whole cache)."""
        return self.keep(space, content_hash, RenderedRun.of(items, dates))

    def keep(self, space: str, content_hash: str, run: RenderedRun) -> RenderedRun:
        """Keep `run` (unless bigger than the whole cache)."""
        if run.cost > self.max_bytes:
            return run
        key = (space, content_hash)
        with self._lock:
            old = self._order.pop(key, None)
            if old is not None:
                self._size -= old.cost
            self._order[key] = run
            self._spaces.setdefault(space, {})[content_hash] = run
            self._size += run.cost
            while self._size > self.max_bytes or len(self._order) > self.max_entries:
                oldest_key, oldest = self._order.popitem(last=False)
                if self._order and (oldest.used or oldest is run):  # a second chance (the new run: never first)
                    oldest.used = False
                    self._order[oldest_key] = oldest
                    continue
                del self._spaces[oldest_key[0]][oldest_key[1]]
                self._size -= oldest.cost
        return run

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """The (space, content hash) keys held, oldest (put or passed by eviction) first (a snapshot)."""
        with self._lock:
            return iter(list(self._order))

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._order)
