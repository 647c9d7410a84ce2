"""Range hashes of the embedded store: kept per connection, never stale, bounded whatever ranges are asked."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.store_contracts import make_doc

DAYS = [f"2024-01-{d:02d}" for d in range(1, 32)]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    store = EmbeddedDocumentStore(tmp_path / "documents.sqlite")
    for day in DAYS:
        store.upsert(make_doc("11", day))
    store.close()
    return tmp_path / "documents.sqlite"


def count_range_queries(store: EmbeddedDocumentStore) -> list[str]:
    """The range statements this thread's connection runs from now on."""
    seen: list[str] = []
    store._connection().set_trace_callback(lambda sql: seen.append(sql) if "content_hash FROM" in sql else None)
    return seen


def hash_of(store: EmbeddedDocumentStore, day: str) -> str:
    return dict(store.range_hashes("11", "day", DAYS[0], DAYS[-1]))[f"11:{day}"]


def test_a_repeated_range_is_answered_without_a_query(path: Path) -> None:
    store = EmbeddedDocumentStore(path)
    queries = count_range_queries(store)
    first = store.range_hashes("11", "day", DAYS[0], DAYS[-1])
    assert len(first) == 31 and first[0] == ("11:2024-01-01", "hash-11-2024-01-01-1")
    assert store.range_hashes("11", "day", DAYS[0], DAYS[-1]) == first
    assert len(queries) == 1
    store.range_hashes("11", "day", DAYS[0], DAYS[9])  # another range: its own query
    assert len(queries) == 2


def test_a_caller_changing_its_answer_does_not_change_the_kept_one(path: Path) -> None:
    store = EmbeddedDocumentStore(path)
    store.range_hashes("11", "day", DAYS[0], DAYS[-1]).clear()
    assert len(store.range_hashes("11", "day", DAYS[0], DAYS[-1])) == 31


@pytest.mark.parametrize("writer", ["same store", "other store", "other thread"])  # another process: tests/integration
def test_a_write_is_seen_at_once(path: Path, writer: str) -> None:
    reader = EmbeddedDocumentStore(path)
    assert hash_of(reader, "2024-01-05") == "hash-11-2024-01-05-1"
    doc = make_doc("11", "2024-01-05", version=2)
    if writer == "same store":
        reader.upsert(doc)
    elif writer == "other store":
        EmbeddedDocumentStore(path).upsert(doc)
    else:
        thread = threading.Thread(target=reader.upsert, args=(doc,))
        thread.start()
        thread.join()
    assert hash_of(reader, "2024-01-05") == "hash-11-2024-01-05-2"


def test_a_range_read_in_a_rolled_back_transaction_is_not_kept(path: Path) -> None:
    store = EmbeddedDocumentStore(path)
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert(make_doc("11", "2024-01-05", version=9))
        assert hash_of(store, "2024-01-05") == "hash-11-2024-01-05-9"  # its own write, inside
        raise RuntimeError("rolled back")
    assert hash_of(store, "2024-01-05") == "hash-11-2024-01-05-1"


@pytest.mark.parametrize(
    ("max_entries", "max_pairs", "ranges"),
    [
        # Many ranges a client makes up (most empty): entries bound.
        (64, 100_000, [(f"2024-01-{d:02d}", f"2030-{m:02d}-01") for d in range(1, 32) for m in range(1, 13)]),
        # Few long ranges: pairs bound.
        (1024, 100, [(DAYS[0], DAYS[-1 - n]) for n in range(20)]),
    ],
)
def test_kept_ranges_stay_within_their_bounds(
    path: Path, max_entries: int, max_pairs: int, ranges: list[tuple[str, str]]
) -> None:
    store = EmbeddedDocumentStore(path, range_hashes_max=max_entries, range_hashes_pairs=max_pairs)
    for first, last in ranges * 2:
        store.range_hashes("11", "day", first, last)
    kept = store._local.ranges
    assert 0 < len(kept.entries) <= max_entries and kept.size <= max_pairs
    assert len(kept.entries) < len(ranges)  # the bound did evict
    assert kept.size == sum(max(1, len(pairs)) for pairs in kept.entries.values())
