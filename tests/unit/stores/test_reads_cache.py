"""The instance cache in front of Cosmos DB (stores/reads_cache.py): bounded staleness, bounded bytes."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import orjson

from stores.reads_cache import CachedDocumentReads
from stores.reads_local import LocalDocumentReads
from tests.support.api_documents import make_day_doc
from tests.support.fakes import MemoryDocuments

STALE = 30.0
DAY = "2024-07-14"
DOC_ID = f"24:{DAY}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingReads(LocalDocumentReads):
    def __init__(self, store: MemoryDocuments) -> None:
        super().__init__(store)
        self.calls: list[str] = []

    async def get_rendered(self, region_code: str, doc_id: str) -> Any:
        self.calls.append("get_rendered")
        return await super().get_rendered(region_code, doc_id)

    async def range_hashes(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> Any:
        self.calls.append("range_hashes")
        return await super().range_hashes(region_code, doc_type, first_key, last_key)


def setup(final: bool, max_bytes: int = 2**20) -> tuple[MemoryDocuments, CountingReads, CachedDocumentReads, Clock]:
    store = MemoryDocuments()
    store.upsert(make_day_doc("24", DAY, final=final))
    inner, clock = CountingReads(store), Clock()
    return store, inner, CachedDocumentReads(inner, max_bytes, STALE, clock), clock


def body_of(cache: CachedDocumentReads, doc_id: str = DOC_ID) -> Any:
    found = asyncio.run(cache.get_rendered("24", doc_id))
    return None if found is None else orjson.loads(found.body)


def rematerialize(store: MemoryDocuments, final: bool, consumption: float) -> dict[str, Any]:
    doc = make_day_doc("24", DAY, final=final, consumption=consumption)
    store.upsert(doc)
    return doc


def test_a_final_day_is_kept_until_evicted_with_its_gzip_form_made_once() -> None:
    _, inner, cache, clock = setup(final=True)
    first = asyncio.run(cache.get_rendered("24", DOC_ID))
    clock.now += 10 * STALE
    again = asyncio.run(cache.get_rendered("24", DOC_ID))
    assert again is first and inner.calls == ["get_rendered"]
    assert first is not None and first.gzip is not None and gzip.decompress(first.gzip) == first.body


def test_a_materialization_landing_mid_way_is_served_only_within_the_bound() -> None:
    """A day that is not final, read at t0; a materialization changes it at t0 + 10 s: the instance answers the
    old day until t0 + STALE at most, then the new one."""
    store, inner, cache, clock = setup(final=False)
    t0 = clock.now
    old = body_of(cache)
    clock.now = t0 + 10
    new = rematerialize(store, final=False, consumption=1234.0)
    clock.now = t0 + STALE - 0.001
    assert body_of(cache) == old != new  # stale, within the bound
    clock.now = t0 + STALE + 0.001
    assert body_of(cache) == new  # past the bound: read again
    assert inner.calls == ["get_rendered", "get_rendered"]


def test_never_across_a_materialization_this_instance_has_seen() -> None:
    """A range read that shows the day's new content hash drops the kept point read at once, even a final day's
    (a correction)."""
    store, _, cache, clock = setup(final=True)
    body_of(cache)
    new = rematerialize(store, final=True, consumption=1234.0)
    clock.now += 1
    pairs = asyncio.run(cache.range_hashes("24", "day", DAY, DAY))
    assert pairs == [(DOC_ID, new["content_hash"])]
    assert body_of(cache) == new


def test_range_hashes_are_kept_for_the_bound_only() -> None:
    store, inner, cache, clock = setup(final=True)
    first = asyncio.run(cache.range_hashes("24", "day", DAY, DAY))
    clock.now += STALE / 2
    new = rematerialize(store, final=True, consumption=1234.0)
    assert asyncio.run(cache.range_hashes("24", "day", DAY, DAY)) == first  # within the bound
    clock.now += STALE
    assert asyncio.run(cache.range_hashes("24", "day", DAY, DAY)) == [(DOC_ID, new["content_hash"])]
    assert inner.calls == ["range_hashes", "range_hashes"]


def test_absent_days_are_not_kept_and_the_bytes_are_bounded() -> None:
    store, _, cache, _ = setup(final=True, max_bytes=60_000)
    assert body_of(cache, "24:2099-01-01") is None and len(cache._entries) == 0
    for day in ("2024-07-15", "2024-07-16", "2024-07-17"):
        store.upsert(make_day_doc("24", day, final=True))
        body_of(cache, f"24:{day}")
        assert cache.size <= cache.max_bytes
    kept = [key for key in cache._entries]
    assert kept and ("24", "24:2024-07-17") in kept and ("24", "24:2024-07-15") not in kept  # oldest out first
