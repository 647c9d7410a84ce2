"""Rendered point reads of the embedded store: the stored bytes, never stale."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.store_contracts import make_doc


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "documents.sqlite"


def test_a_write_by_another_connection_is_seen_at_once(path: Path) -> None:
    reader, writer = EmbeddedDocumentStore(path), EmbeddedDocumentStore(path)
    writer.upsert(make_doc("11", "2024-01-01", version=1))
    assert reader.get_rendered("11", "11:2024-01-01") is not None
    writer.upsert(make_doc("11", "2024-01-01", version=2))
    again = reader.get_rendered("11", "11:2024-01-01")
    assert again is not None and orjson.loads(again.body)["content_hash"] == "hash-11-2024-01-01-2"


def test_a_write_from_another_thread_of_the_same_store_is_seen_at_once(path: Path) -> None:
    store = EmbeddedDocumentStore(path)
    store.upsert(make_doc("11", "2024-01-01", version=1))
    assert store.get_rendered("11", "11:2024-01-01") is not None
    thread = threading.Thread(target=store.upsert, args=(make_doc("11", "2024-01-01", version=3),))
    thread.start()
    thread.join()
    again = store.get_rendered("11", "11:2024-01-01")
    assert again is not None and again.content_hash == "hash-11-2024-01-01-3"


# 0: reads by pread; 64 KiB: a map smaller than the file (pages past it still read by pread); 1 GiB: all mapped.
@pytest.mark.parametrize("mmap_bytes", [0, 64 * 1024, 2**30])
def test_a_mapped_reader_reads_the_same_bytes_and_sees_every_later_write(path: Path, mmap_bytes: int) -> None:
    writer = EmbeddedDocumentStore(path)
    days = [f"2024-02-{d:02d}" for d in range(1, 29)]
    for day in days:
        writer.upsert(make_doc("11", day, padding="y" * 30_000))  # overflow pages, as a real day document
    reader = EmbeddedDocumentStore(path, mmap_bytes=mmap_bytes)
    unmapped = EmbeddedDocumentStore(path)
    for day in days:
        assert reader.get_rendered("11", f"11:{day}") == unmapped.get_rendered("11", f"11:{day}") is not None
    # A write by another connection, moved from the WAL into the file itself: the map reads the new pages.
    writer.upsert(make_doc("11", "2024-02-10", version=5, padding="z" * 40_000))
    writer._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    again = reader.get_rendered("11", "11:2024-02-10")
    assert again is not None and again.content_hash == "hash-11-2024-02-10-5"
    assert again == unmapped.get_rendered("11", "11:2024-02-10")


@pytest.mark.parametrize("mmap_bytes", [0, 2**20, 2**30])
def test_each_connection_maps_as_much_as_the_store_was_given(path: Path, mmap_bytes: int) -> None:
    store = EmbeddedDocumentStore(path, mmap_bytes=mmap_bytes)
    thread_sizes: list[int] = []
    thread = threading.Thread(target=lambda: thread_sizes.append(_mapped(store)))
    thread.start()
    thread.join()
    assert _mapped(store) == thread_sizes[0] == mmap_bytes


def test_a_negative_map_size_is_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="mmap_bytes"):
        EmbeddedDocumentStore(path, mmap_bytes=-1)


def _mapped(store: EmbeddedDocumentStore) -> int:
    size: int = store._connection().execute("PRAGMA mmap_size").fetchone()[0]
    return size
