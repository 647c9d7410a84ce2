"""Pre-serialized items: same bytes as rendering from the documents, never stale, bounded."""

from __future__ import annotations

import asyncio
import gzip
import random
import struct
import zlib
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.http import dumps
from api.params import RangeQuery, parse
from api.reader import production_page, rendered_page
from api.rendered import ENTRY_OVERHEAD, RenderedItems, RenderedRun, chunks_of, gzipped, joined, page_of
from stores.documents_embedded import EmbeddedDocumentStore
from stores.reads_local import LocalDocumentReads
from tests.support.api_documents import make_day_doc, seed
from tests.support.fakes import CountingDocuments, MemoryDocuments


def body(docs: MemoryDocuments, rendered: RenderedItems | None, **params: str) -> bytes:
    """The page's bytes: joined from the cache with `rendered`, else dumped from the documents' items."""
    query = parse(RangeQuery, params)
    if rendered is not None:
        page = asyncio.run(rendered_page(LocalDocumentReads(docs), query, page_url, rendered))
        single_member = zlib.decompressobj(wbits=31)  # one gzip member: what every client decodes
        assert single_member.decompress(page.gzipped()) == page.body and single_member.eof
        assert not single_member.unused_data
        return page.body
    return dumps(asyncio.run(production_page(LocalDocumentReads(docs), query, page_url))[0])


def page_url(query_string: str) -> str:
    return "http://h/x?" + query_string


@pytest.mark.parametrize(
    "params",
    [
        {"granularity": "hour"},
        {"granularity": "30min"},
        {"granularity": "hour", "source_type": "eolien"},
        {"granularity": "30min", "limit": "100", "offset": "950"},
        {"granularity": "hour", "start_date": "2024-10-26", "end_date": "2024-10-28"},  # a 25-hour day inside
        {"granularity": "day"},
        {"granularity": "day", "source_type": "consommation", "limit": "7", "offset": "3"},
        {"granularity": "day", "start_date": "2024-09-20", "end_date": "2024-11-10"},  # months clipped at both ends
    ],
)
def test_rendered_items_are_byte_identical_to_rendering_from_documents(params: dict[str, str]) -> None:
    docs = MemoryDocuments()
    seed(docs, ["11"], ["2024-09", "2024-10", "2024-11"])
    query = {"region_code": "11", "start_date": "2024-10-01", "end_date": "2024-10-31", **params}
    rendered = RenderedItems()
    plain = body(docs, None, **query)
    assert body(docs, rendered, **query) == plain  # cold: rendered and cached
    assert body(docs, rendered, **query) == plain  # warm: from the cache
    assert rendered.hits > 0


def test_warm_range_reads_no_document_body_and_a_changed_day_is_rendered_again() -> None:
    docs = CountingDocuments()
    seed(docs, ["11"], ["2024-03"])
    rendered = RenderedItems()
    query = {"region_code": "11", "start_date": "2024-03-01", "end_date": "2024-03-31", "granularity": "hour"}
    body(docs, rendered, **query)
    reads = docs.gets + len(docs.ranges)
    body(docs, rendered, **query)
    assert docs.gets + len(docs.ranges) == reads  # hashes only

    docs.upsert(make_day_doc("11", "2024-03-15", mw={"eolien": 777.0}))  # re-materialized: new content hash
    changed = orjson.loads(body(docs, rendered, **query))
    assert docs.gets + len(docs.ranges) == reads + 1  # one range query
    assert {i["sources"].get("eolien") for i in changed["items"] if i["timestamp"].startswith("2024-03-15")} == {777.0}
    assert changed == orjson.loads(body(docs, None, **query))


def test_cache_stays_within_its_byte_budget_and_evicts_least_recent() -> None:
    rendered = RenderedItems(max_bytes=10_000)
    item = {"v": "x" * 900}  # ~900 bytes serialized, plus the entry's fixed overhead
    for n in range(30):
        rendered.put("doc", f"h{n}", [item])
    assert rendered.size_bytes <= 10_000 and len(rendered) < 30
    assert rendered.get("doc", "h0") is None and rendered.get("doc", "h29") is not None
    big = rendered.put("big", "h0", [item] * 20)  # larger than the budget: served, not kept
    assert len(big) == 20 and rendered.get("big", "h0") is None


@pytest.mark.parametrize(("max_bytes", "max_entries", "kept"), [(10**9, 50, 50), (50 * ENTRY_OVERHEAD, 10**6, 50)])
def test_empty_runs_are_not_free_the_cache_is_bounded_by_entries_and_bytes(
    max_bytes: int, max_entries: int, kept: int
) -> None:
    rendered = RenderedItems(max_bytes=max_bytes, max_entries=max_entries)
    for n in range(1_000):
        rendered.put("empty", f"h{n}", [])
    assert len(rendered) == kept and rendered.size_bytes == kept * ENTRY_OVERHEAD
    assert rendered.get("empty", "h999") is not None and rendered.get("empty", "h0") is None


def test_ranges_a_reader_varies_at_will_share_the_entries_of_their_documents() -> None:
    """Every start/end/limit/offset of a region's year: the cache holds at most one entry per document and
    variant (field, source type), however many distinct ranges are asked."""
    docs = MemoryDocuments()
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    seed(docs, ["11"], months)
    rendered = RenderedItems()
    rng = random.Random(4)
    for _ in range(300):
        first = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
        last = first + timedelta(days=rng.randrange(31))
        granularity = rng.choice(["day", "day", "hour", "30min"])
        query = {"region_code": "11", "start_date": first.isoformat(), "end_date": last.isoformat()}
        extra = {"limit": str(rng.randint(1, 50)), "offset": str(rng.randrange(30))}
        page = orjson.loads(body(docs, rendered, granularity=granularity, **query, **extra))
        assert page == orjson.loads(body(docs, None, granularity=granularity, **query, **extra))
    days = sum(1 for d in docs.docs.values() if d["doc_type"] == "day")
    fields = Counter(space.split("|")[0] for space, _ in rendered)
    assert fields["days"] <= len(months) and fields["hourly"] <= days and fields["intervals"] <= days


def test_a_month_clipped_differently_is_one_entry_windowed_for_each_range() -> None:
    docs = MemoryDocuments()
    seed(docs, ["11"], ["2024-10"])
    rendered = RenderedItems()
    narrow = {"region_code": "11", "start_date": "2024-10-05", "end_date": "2024-10-06", "granularity": "day"}
    wide = {**narrow, "start_date": "2024-10-01", "end_date": "2024-10-31"}
    assert [i["date"] for i in orjson.loads(body(docs, rendered, **narrow))["items"]] == ["2024-10-05", "2024-10-06"]
    assert orjson.loads(body(docs, rendered, **wide))["total"] == 31
    assert orjson.loads(body(docs, rendered, **narrow))["total"] == 2
    assert len(rendered) == 1


@pytest.mark.parametrize(
    ("offset", "limit"), [(0, 100), (0, 3), (2, 2), (3, 3), (4, 1), (5, 10), (8, 5), (0, 9), (9, 1)]
)
def test_a_page_across_windows_has_exactly_the_items_of_the_slice(offset: int, limit: int) -> None:
    values = [{"n": i, "s": "é" * (i % 3)} for i in range(12)]
    dated = RenderedRun.of(values[9:], ["2024-01-01", "2024-01-02", "2024-01-03"])
    runs = [RenderedRun.of(values[:3]), RenderedRun.of([]), RenderedRun.of(values[3:4]), RenderedRun.of(values[4:9])]
    windows = [run.window("2024-01-01", "2024-01-01") for run in runs] + [dated.window("2023-12-01", "2024-01-01")]
    parts, count, total = page_of(windows, offset, limit)
    expected = (values[:10])[offset : offset + limit]
    chunks = chunks_of(parts)
    assert total == 10 and count == len(expected) and all(len(chunk) for chunk in chunks)
    page = joined(b"[", chunks, b"]")
    assert orjson.loads(page) == expected
    assert gzip.decompress(gzipped(b"[", parts, b"]", page)) == page


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2024-01-01", "2024-01-31", (0, 3)),
        ("2024-01-01", "2024-01-03", (0, 3)),
        ("2024-01-02", "2024-01-02", (1, 2)),
        ("2023-12-01", "2024-01-02", (0, 2)),
        ("2023-12-01", "2023-12-31", (0, 0)),
        ("2024-01-04", "2024-01-09", (3, 3)),
    ],
)
def test_a_dated_run_windows_by_date(first: str, last: str, expected: tuple[int, int]) -> None:
    run = RenderedRun.of([1, 2, 3], ["2024-01-01", "2024-01-02", "2024-01-03"])
    _, begin, end = run.window(first, last)
    assert (begin, end) == expected


@pytest.mark.parametrize("chunks", [[], [b"1"], [b"1,2", memoryview(b"x3,4y")[1:4], b"5"]])
def test_a_page_is_its_head_the_chunks_comma_separated_and_its_tail(chunks: list[bytes | memoryview]) -> None:
    expected = [int(n) for chunk in chunks for n in bytes(chunk).split(b",")]
    assert orjson.loads(joined(b'{"items":[', chunks, b"]}")) == {"items": expected}


def test_get_many_is_get_of_each_key_and_keeps_them_recent() -> None:
    rendered = RenderedItems(max_entries=4)
    for n in range(4):
        rendered.put("doc", f"h{n}", [n] * (n > 0))  # h0 is an empty run (no items): found all the same
    runs = rendered.get_many("doc", ["h0", "absent", "h2"])
    assert [None if run is None else orjson.loads(b"[" + run.blob + b"]") for run in runs] == [[], None, [2]]
    assert rendered.get_many("other", ["h0"]) == [None]  # another space (field, source type): its own keys
    assert (rendered.hits, rendered.misses) == (2, 2)
    rendered.put("doc", "h4", [4])  # evicts the least recent: h1, not h0 that get_many just used
    # h0, hit, had its second chance: to the young end; h2, hit too, is not reached yet.
    assert list(rendered) == [("doc", "h2"), ("doc", "h3"), ("doc", "h4"), ("doc", "h0")]


@pytest.mark.parametrize("size", [2, 5, 10, 101])
def test_entries_hit_are_evicted_after_every_entry_not_hit(size: int) -> None:
    """CLOCK's promise: whatever the history, once a full cache's entries have been hit or not, the next puts
    evict those not hit first, oldest first, and keep every one hit until those are gone."""
    rendered = RenderedItems(max_entries=size)
    rng = random.Random(size)
    for n in range(3 * size):  # a history of puts and hits (flags set, cleared, entries passed)
        rendered.put("doc", f"old{n}", [n])
        rendered.get("doc", f"old{rng.randrange(n + 1)}")
    for _, content_hash in rendered:
        rendered.put("doc", content_hash, [0])  # put again: every entry fresh, none hit, in this order
    held = [content_hash for _, content_hash in rendered]
    hit = set(rng.sample(held, size // 2))
    assert all(run is not None for run in rendered.get_many("doc", sorted(hit)))
    not_hit = [content_hash for content_hash in held if content_hash not in hit]
    for n, expected in enumerate(not_hit):
        rendered.put("doc", f"new{n}", [n])
        assert expected not in {content_hash for _, content_hash in rendered}  # (listing moves nothing)
        assert hit <= {content_hash for _, content_hash in rendered}
    assert len(rendered) == size


def test_a_run_put_in_a_cache_whose_entries_were_all_hit_is_kept_and_the_oldest_goes() -> None:
    rendered = RenderedItems(max_entries=3)
    for n in range(3):
        rendered.put("doc", f"h{n}", [n])
    rendered.get_many("doc", ["h0", "h1", "h2"])
    assert rendered.put("doc", "new", [9]) is rendered.get("doc", "new")
    assert [content_hash for _, content_hash in rendered] == ["h1", "h2", "new"]


def test_a_document_without_a_content_hash_is_rendered_on_every_read_never_served_from_the_cache() -> None:
    docs = CountingDocuments()
    seed(docs, ["11"], ["2024-03"])
    unhashed = {k: v for k, v in make_day_doc("11", "2024-03-10", mw={"eolien": 5.0}).items() if k != "content_hash"}
    docs.upsert(unhashed)
    rendered = RenderedItems()
    query = {"region_code": "11", "start_date": "2024-03-01", "end_date": "2024-03-31", "granularity": "hour"}
    plain = body(docs, None, **query)
    assert body(docs, rendered, **query) == plain
    reads = docs.gets + len(docs.ranges)
    assert body(docs, rendered, **query) == plain
    assert docs.gets + len(docs.ranges) == reads + 1  # one range query again
    docs.upsert({**unhashed, "hourly": unhashed["hourly"][:3]})  # changed without a hash: seen at once
    assert orjson.loads(body(docs, rendered, **query))["total"] == orjson.loads(plain)["total"] - 21


_RUNS = [RenderedRun.of([{"v": n, "t": "é" * n}] * 40) for n in range(3)]


@pytest.mark.parametrize("head_size", [0, 10, 70_000])  # a head longer than one stored block (65,535 bytes)
@pytest.mark.parametrize(
    "parts",
    [
        [(_RUNS[0], 0, 40), (_RUNS[1], 5, 17), (_RUNS[2], 0, 40)],  # whole, cut, whole
        [(_RUNS[1], 0, 40)],
        [(_RUNS[2], 39, 40)],
        [],  # a page past the last item
    ],
)
def test_a_gzip_page_made_of_segments_is_one_member_with_the_body_s_crc_and_size(
    head_size: int, parts: list[tuple[RenderedRun, int, int]]
) -> None:
    head = b"[" + b" " * head_size
    body = joined(head, chunks_of(parts), b"]")
    made = gzipped(head, parts, b"]", body)
    assert gzip.decompress(made) == body
    if len(parts) > 1:  # the runs' items compressed (a head is stored as it is)
        assert len(made) < len(body)
    assert made[-8:] == struct.pack("<II", zlib.crc32(body), len(body))


class CountingReads(LocalDocumentReads):
    """The embedded store's reads, counting the document reads (what a range served from stored items avoids)."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.document_reads = 0

    async def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> Any:
        self.document_reads += 1
        return await super().query_range(region_code, doc_type, first_key, last_key)


@pytest.mark.parametrize(
    "params",
    [
        {"granularity": "hour"},
        {"granularity": "30min", "limit": "100", "offset": "950"},
        {"granularity": "hour", "start_date": "2024-10-26", "end_date": "2024-10-28"},
        {"granularity": "day", "start_date": "2024-09-20", "end_date": "2024-11-10"},
        {"granularity": "hour", "source_type": "eolien"},  # one source: rendered from the documents
    ],
)
def test_a_cold_range_is_joined_from_the_items_stored_with_the_documents(
    tmp_path: Path, params: dict[str, str]
) -> None:
    """Byte-identical to rendering from the documents, with no document read (all sources); a document written
    before the items were stored, or whose stored items are of another version, is rendered."""
    store = EmbeddedDocumentStore(tmp_path / "documents.sqlite")
    seed(store, ["11"], ["2024-09", "2024-10", "2024-11"])  # type: ignore[arg-type]
    query = parse(RangeQuery, {"region_code": "11", "start_date": "2024-10-01", "end_date": "2024-10-31", **params})
    plain = dumps(asyncio.run(production_page(LocalDocumentReads(store), query, page_url))[0])
    reads = CountingReads(store)
    page = asyncio.run(rendered_page(reads, query, page_url, RenderedItems()))
    assert page.body == plain and gzip.decompress(page.gzipped()) == plain
    assert reads.document_reads == (1 if "source_type" in params else 0)
    with store.transaction():  # an older file: no stored items for some documents
        store._connection().execute("DELETE FROM rendered_items WHERE key LIKE '2024-10-1%' OR key = '2024-10'")
        store._connection().execute("UPDATE rendered_items SET content_hash = 'old' WHERE key = '2024-10-27'")
    reads = CountingReads(store)
    assert asyncio.run(rendered_page(reads, query, page_url, RenderedItems())).body == plain
    assert reads.document_reads >= 1


def test_stored_items_are_rewritten_with_their_document(tmp_path: Path) -> None:
    store = EmbeddedDocumentStore(tmp_path / "documents.sqlite")
    doc = make_day_doc("11", "2024-10-02")
    store.upsert(doc)
    changed = make_day_doc("11", "2024-10-02", consumption=1.0)
    store.upsert(changed)
    stored = store.range_items("11", "day", "2024-10-02", "2024-10-02", "hourly")
    assert stored[doc["id"]].content_hash == changed["content_hash"] != doc["content_hash"]
