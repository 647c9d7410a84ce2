"""Range hashes of the embedded store: from the covering index, never stale."""

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


def hash_of(store: EmbeddedDocumentStore, day: str) -> str:
    return dict(store.range_hashes("11", "day", DAYS[0], DAYS[-1]))[f"11:{day}"]


def test_a_range_is_read_from_the_covering_index(path: Path) -> None:
    store = EmbeddedDocumentStore(path)
    plan = (
        store._connection()
        .execute(
            "EXPLAIN QUERY PLAN SELECT id, content_hash FROM documents WHERE region_code = ? AND doc_type = ? "
            "AND key >= ? AND key <= ? ORDER BY key, id",
            ("11", "day", DAYS[0], DAYS[-1]),
        )
        .fetchall()
    )
    assert any("COVERING INDEX" in str(row) for row in plan), plan
    first = store.range_hashes("11", "day", DAYS[0], DAYS[-1])
    assert len(first) == 31 and first[0] == ("11:2024-01-01", "hash-11-2024-01-01-1")


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
