"""Behaviour every DocumentStore adapter must show, as a table of cases run against each adapter.

Each case receives a store and a region code no other case uses, so cases share one store or container.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import orjson

from stores.ports import DocumentStore

COSMOS_SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts")


def make_doc(region: str, key: str, doc_type: str = "day", **extra: Any) -> dict[str, Any]:
    """A document shaped like the materialized ones: id from region and key, a hash of its content."""
    doc: dict[str, Any] = {
        "id": f"{region}:{key}",
        "region_code": region,
        "doc_type": doc_type,
        "key": key,
        "content_hash": f"hash-{region}-{key}-{extra.get('version', 1)}",
        "series": [{"timestamp": f"{key}T00:00:00+01:00", "production_mw": 1234.5, "solaire": None}],
        "region_name": "Île-de-France",
    }
    doc.update(extra)
    return doc


def upsert_then_point_read_returns_equal_doc(store: DocumentStore, region: str) -> None:
    doc = make_doc(region, "2024-03-31", interval_count=46)
    store.upsert(doc)
    assert store.get(region, doc["id"]) == doc


def absent_id_reads_none(store: DocumentStore, region: str) -> None:
    store.upsert(make_doc(region, "2024-01-01"))
    assert store.get(region, f"{region}:2099-01-01") is None


def same_id_in_other_partition_is_absent(store: DocumentStore, region: str) -> None:
    doc = make_doc(region, "2024-01-01")
    store.upsert(doc)
    assert store.get(f"{region}-other", doc["id"]) is None


def second_upsert_replaces_whole_doc(store: DocumentStore, region: str) -> None:
    store.upsert(make_doc(region, "2024-01-01", version=1, dropped_field=1))
    replacement = make_doc(region, "2024-01-01", version=2)
    store.upsert(replacement)
    got = store.get(region, replacement["id"])
    assert got == replacement
    assert got is not None and "dropped_field" not in got


def nulls_and_unicode_survive(store: DocumentStore, region: str) -> None:
    doc = make_doc(region, "2024-06-01", sources={"nucleaire": None, "eolien": 0.0, "solaire": 12.25})
    store.upsert(doc)
    got = store.get(region, doc["id"])
    assert got is not None
    assert got["sources"] == {"nucleaire": None, "eolien": 0.0, "solaire": 12.25}
    assert got["region_name"] == "Île-de-France"


def range_is_inclusive_ordered_and_typed(store: DocumentStore, region: str) -> None:
    # Written out of order; a month document and other days outside the range must not appear.
    for key in ("2024-02-03", "2024-02-01", "2024-01-31", "2024-02-29", "2024-03-01", "2024-02-10"):
        store.upsert(make_doc(region, key))
    store.upsert(make_doc(region, "2024-02", doc_type="month"))
    got = store.query_range(region, "day", "2024-02-01", "2024-02-29")
    assert [d["key"] for d in got] == ["2024-02-01", "2024-02-03", "2024-02-10", "2024-02-29"]
    assert all(d["doc_type"] == "day" and d["region_code"] == region for d in got)


def range_stays_in_its_partition(store: DocumentStore, region: str) -> None:
    store.upsert(make_doc(region, "2024-05-01"))
    store.upsert(make_doc(f"{region}-other", "2024-05-02"))
    got = store.query_range(region, "day", "2024-05-01", "2024-05-31")
    assert [d["id"] for d in got] == [f"{region}:2024-05-01"]


def empty_range_is_empty_list(store: DocumentStore, region: str) -> None:
    store.upsert(make_doc(region, "2024-05-01"))
    assert store.query_range(region, "day", "2024-06-01", "2024-06-30") == []


def range_hashes_follow_the_range_without_bodies(store: DocumentStore, region: str) -> None:
    for key in ("2024-04-03", "2024-04-01", "2024-03-31", "2024-04-30"):
        store.upsert(make_doc(region, key))
    store.upsert(make_doc(region, "2024-04", doc_type="month"))
    expected = [(d["id"], d["content_hash"]) for d in store.query_range(region, "day", "2024-04-01", "2024-04-30")]
    assert store.range_hashes(region, "day", "2024-04-01", "2024-04-30") == expected
    assert [i for i, _ in expected] == [f"{region}:2024-04-01", f"{region}:2024-04-03", f"{region}:2024-04-30"]
    assert store.range_hashes(region, "day", "2025-01-01", "2025-01-31") == []


def content_hashes_of_existing_ids_only(store: DocumentStore, region: str) -> None:
    a, b = make_doc(region, "2024-01-01"), make_doc(region, "2024-01-02", version=3)
    store.upsert(a)
    store.upsert(b)
    store.upsert(make_doc(f"{region}-other", "2024-01-03"))
    asked = [a["id"], b["id"], f"{region}:2024-01-09", f"{region}:2024-01-03"]
    assert store.content_hashes(region, asked) == {a["id"]: a["content_hash"], b["id"]: b["content_hash"]}


def content_hashes_of_no_ids_is_empty(store: DocumentStore, region: str) -> None:
    assert store.content_hashes(region, []) == {}


def content_hashes_of_many_ids(store: DocumentStore, region: str) -> None:
    # More ids than one SQL IN list or one Cosmos parameter holds comfortably.
    docs = [make_doc(region, f"k{i:04d}") for i in range(0, 1200, 40)]
    for doc in docs:
        store.upsert(doc)
    asked = [f"{region}:k{i:04d}" for i in range(1200)]
    assert store.content_hashes(region, asked) == {d["id"]: d["content_hash"] for d in docs}


def no_system_fields_returned(store: DocumentStore, region: str) -> None:
    doc = make_doc(region, "2024-07-14")
    store.upsert(doc)
    read = store.get(region, doc["id"])
    queried = store.query_range(region, "day", "2024-07-14", "2024-07-14")
    for returned in (read, *queried):
        assert returned is not None
        assert not set(COSMOS_SYSTEM_FIELDS) & set(returned)


def returned_docs_are_independent_copies(store: DocumentStore, region: str) -> None:
    doc = make_doc(region, "2024-08-01")
    store.upsert(doc)
    first = store.get(region, doc["id"])
    assert first is not None
    first["series"].clear()
    assert store.get(region, doc["id"]) == doc


def ping_succeeds(store: DocumentStore, region: str) -> None:
    store.ping()


def versioned_read_of_an_absent_doc_is_none(store: DocumentStore, region: str) -> None:
    assert store.get_versioned(region, f"{region}:2099-01-01") == (None, None)


def create_if_absent_wins_once(store: DocumentStore, region: str) -> None:
    first, second = make_doc(region, "2024-09-01", version=1), make_doc(region, "2024-09-01", version=2)
    assert store.replace_if(first, None) is True
    assert store.replace_if(second, None) is False  # another writer created it first
    assert store.get(region, first["id"]) == first


def replace_if_unchanged_then_stale_tag_loses(store: DocumentStore, region: str) -> None:
    """Two writers read the same version; the first write wins, the second sees a conflict and writes nothing."""
    store.upsert(make_doc(region, "2024-09-02", version=1))
    doc, tag = store.get_versioned(region, f"{region}:2024-09-02")
    assert doc == make_doc(region, "2024-09-02", version=1) and tag is not None
    assert store.replace_if(make_doc(region, "2024-09-02", version=2), tag) is True
    assert store.replace_if(make_doc(region, "2024-09-02", version=3), tag) is False
    latest, new_tag = store.get_versioned(region, f"{region}:2024-09-02")
    assert latest == make_doc(region, "2024-09-02", version=2) and new_tag != tag
    store.upsert(make_doc(region, "2024-09-02", version=4))  # a plain upsert changes the tag too
    assert store.replace_if(make_doc(region, "2024-09-02", version=5), new_tag) is False


def rendered_read_is_the_document_as_bytes(store: DocumentStore, region: str) -> None:
    """What a point read answers without parsing: the document's JSON bytes, gzip form, hash and finality."""
    assert hasattr(store, "get_rendered")
    assert store.get_rendered(region, f"{region}:2024-10-27") is None
    for version, final in ((1, False), (2, True)):  # a rewrite is seen at once: nothing kept from the last one
        doc = make_doc(region, "2024-10-27", version=version, final=final, sources={"eolien": 0.0, "x": None})
        store.upsert(doc)
        rendered = store.get_rendered(region, doc["id"])
        assert rendered is not None
        assert orjson.loads(rendered.body) == doc
        assert (rendered.content_hash, rendered.final) == (doc["content_hash"], final)
        assert rendered.gzip is None or gzip.decompress(rendered.gzip) == rendered.body


DOCUMENT_STORE_CASES: list[Callable[[DocumentStore, str], None]] = [
    rendered_read_is_the_document_as_bytes,
    upsert_then_point_read_returns_equal_doc,
    absent_id_reads_none,
    same_id_in_other_partition_is_absent,
    second_upsert_replaces_whole_doc,
    nulls_and_unicode_survive,
    range_is_inclusive_ordered_and_typed,
    range_stays_in_its_partition,
    empty_range_is_empty_list,
    range_hashes_follow_the_range_without_bodies,
    content_hashes_of_existing_ids_only,
    content_hashes_of_no_ids_is_empty,
    content_hashes_of_many_ids,
    no_system_fields_returned,
    returned_docs_are_independent_copies,
    ping_succeeds,
    versioned_read_of_an_absent_doc_is_none,
    create_if_absent_wins_once,
    replace_if_unchanged_then_stale_tag_loses,
]
