from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.documents_embedded import EmbeddedDocumentStore
from stores.errors import StoreUnavailable
from stores.ports import DocumentStore
from tests.support.store_contracts import DOCUMENT_STORE_CASES, make_doc


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedDocumentStore:
    return EmbeddedDocumentStore(tmp_path / "docs" / "documents.sqlite")


@pytest.mark.parametrize("case", DOCUMENT_STORE_CASES, ids=lambda c: c.__name__)
def test_document_store_contract(store: EmbeddedDocumentStore, case: Callable[[DocumentStore, str], None]) -> None:
    case(store, "11")


@pytest.mark.parametrize(
    "bad",
    [
        {"region_code": "11"},
        {"id": "x"},
        {"id": "", "region_code": "11"},
        {"id": 3, "region_code": "11"},
        {"id": "x", "region_code": "11", "key": 2024},
        {"id": "x", "region_code": "11", "value": float("nan")},
    ],
    ids=["no-id", "no-region", "empty-id", "int-id", "int-key", "nan"],
)
def test_upsert_rejects_malformed_documents(store: EmbeddedDocumentStore, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        store.upsert(bad)


def test_file_is_in_wal_mode_with_the_partition_index(store: EmbeddedDocumentStore) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plan = " ".join(
        row[-1]
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT body FROM documents WHERE region_code = ? AND doc_type = ? "
            "AND key >= ? AND key <= ? ORDER BY key",
            ("11", "day", "a", "b"),
        )
    )
    assert "ix_documents_range_hashes" in plan
    conn.close()


def test_reopening_the_file_keeps_documents(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"
    doc = make_doc("84", "2024-01-01")
    first = EmbeddedDocumentStore(path)
    first.upsert(doc)
    first.close()
    assert EmbeddedDocumentStore(path).get("84", doc["id"]) == doc


def test_a_store_written_before_rendered_columns_answers_rendered_reads(tmp_path: Path) -> None:
    """Rows of an older file (no gzip form, no finality column) are answered all the same, from the body."""
    path = tmp_path / "documents.sqlite"
    doc = make_doc("84", "2024-01-01", final=True)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE documents (region_code TEXT NOT NULL, id TEXT NOT NULL, doc_type TEXT, key TEXT, "
        "content_hash TEXT, body TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (region_code, id)) "
        "WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, 1)",
        ("84", doc["id"], "day", doc["key"], doc["content_hash"], orjson.dumps(doc).decode()),
    )
    conn.commit()
    conn.close()
    rendered = EmbeddedDocumentStore(path).get_rendered("84", doc["id"])
    assert rendered is not None
    assert (orjson.loads(rendered.body), rendered.gzip, rendered.final) == (doc, None, True)


def test_thread_pool_reads_and_writes(store: EmbeddedDocumentStore) -> None:
    keys = [f"2024-01-{d:02d}" for d in range(1, 29)]

    def write_then_read(key: str) -> dict[str, Any] | None:
        store.upsert(make_doc("52", key))
        return store.get("52", f"52:{key}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(write_then_read, keys * 3))
    assert [r["key"] if r else None for r in results] == keys * 3
    assert [d["key"] for d in store.query_range("52", "day", "2024-01-01", "2024-01-31")] == keys


keys = st.text(alphabet="0123456789-:", min_size=0, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    written=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["day", "month"]), keys), max_size=30),
    bounds=st.tuples(keys, keys),
)
def test_range_query_matches_a_filter_and_sort_model(
    tmp_path: Path, written: list[tuple[str, str, str]], bounds: tuple[str, str]
) -> None:
    store = EmbeddedDocumentStore(tmp_path / f"{uuid.uuid4().hex}.sqlite")
    model: dict[tuple[str, str], dict[str, Any]] = {}
    for region, doc_type, key in written:
        doc = make_doc(region, key, doc_type=doc_type)
        store.upsert(doc)
        model[(region, doc["id"])] = doc
    first, last = bounds
    expected = sorted(
        (d for (r, _), d in model.items() if r == "a" and d["doc_type"] == "day" and first <= d["key"] <= last),
        key=lambda d: (d["key"], d["id"]),
    )
    assert store.query_range("a", "day", first, last) == expected
    ids = [doc_id for (_, doc_id) in model] + ["a:absent"]
    assert store.content_hashes("a", ids) == {i: d["content_hash"] for (r, i), d in model.items() if r == "a"}


def test_a_lock_held_elsewhere_is_store_unavailable_within_the_busy_timeout(tmp_path: Path) -> None:
    """Another connection holds the file exclusively: reads and writes end in StoreUnavailable, then recover.

    (The busy timeout of 0.2 s is the wait; the API's read stores take it from the read policy, test_factory.)"""
    path = tmp_path / "documents.sqlite"
    store = EmbeddedDocumentStore(path, busy_timeout_seconds=0.2)
    doc = make_doc("11", "2024-01-15")
    store.upsert(doc)
    store.close()  # this thread reconnects at its next call, meeting the lock below
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("COMMIT")  # the exclusive lock stays held until the connection closes
    try:
        calls: list[Callable[[], object]] = [
            lambda: store.get("11", doc["id"]),
            lambda: store.get_rendered("11", doc["id"]),
            lambda: store.upsert(doc),
            store.ping,
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable, match="documents unavailable: SQLITE_BUSY"):
                call()
    finally:
        locker.close()
    assert store.get("11", doc["id"]) == doc


def test_writes_in_a_transaction_are_seen_by_others_only_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"
    store, other = EmbeddedDocumentStore(path), EmbeddedDocumentStore(path)
    docs = [make_doc("11", f"2024-01-{d:02d}") for d in range(1, 4)]
    with store.transaction():
        for doc in docs:
            assert store.replace_if(doc, None)
        with store.transaction():  # nested: part of the outer one
            store.upsert(make_doc("11", "2024-01-04"))
        assert store.get("11", docs[0]["id"]) == docs[0]  # this thread reads its own writes
        assert other.get("11", docs[0]["id"]) is None
    assert [other.get("11", d["id"]) for d in docs] == docs and other.get("11", make_doc("11", "2024-01-04")["id"])


def test_an_error_in_a_transaction_rolls_back_every_write_inside(store: EmbeddedDocumentStore) -> None:
    kept, dropped = make_doc("11", "2024-01-01"), make_doc("11", "2024-01-02")
    store.upsert(kept)
    with pytest.raises(RuntimeError, match="mid-batch"), store.transaction():
        store.upsert(dropped)
        store.upsert({**kept, "value": 1})
        raise RuntimeError("mid-batch")
    assert store.get("11", dropped["id"]) is None and store.get("11", kept["id"]) == kept
    store.upsert(dropped)  # the connection is usable again, outside any transaction
    assert store.get("11", dropped["id"]) == dropped


def test_a_transaction_behind_another_writer_is_unavailable_within_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"
    store = EmbeddedDocumentStore(path, busy_timeout_seconds=0.2)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="SQLITE_BUSY"), store.transaction():
            pass
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with store.transaction():
        store.upsert(make_doc("11", "2024-01-01"))
    assert store.get("11", make_doc("11", "2024-01-01")["id"]) is not None


def test_prepared_documents_are_written_as_prepared_and_not_kept_after_the_transaction(
    store: EmbeddedDocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [make_doc("11", f"2024-02-{d:02d}") for d in range(1, 4)]
    store.prepare(docs)
    serialized: list[str] = []
    columns = EmbeddedDocumentStore._columns

    def counted(doc: dict[str, Any]) -> Any:
        serialized.append(doc["id"])
        return columns(doc)

    monkeypatch.setattr(EmbeddedDocumentStore, "_columns", staticmethod(counted))
    with store.transaction():
        for doc in docs[:2]:
            assert store.replace_if(doc, None)
    assert serialized == []  # written from what prepare serialized
    assert [store.get("11", d["id"]) for d in docs] == [*docs[:2], None]
    assert "prepared" not in store._local.__dict__  # the third, never written, is not held
    later = {**docs[2], "value": 2}  # another document object: serialized at its write, not from a stale entry
    assert store.replace_if(later, None) and store.get("11", later["id"]) == later


_WITHOUT_ROWID = (
    "CREATE TABLE documents (region_code TEXT NOT NULL, id TEXT NOT NULL, doc_type TEXT, key TEXT, "
    "content_hash TEXT, body TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, body_gzip BLOB, final INTEGER, "
    "PRIMARY KEY (region_code, id)) WITHOUT ROWID"
)


def test_a_without_rowid_file_is_moved_once_to_a_rowid_table_with_every_row_as_it_was(tmp_path: Path) -> None:
    """Files of earlier versions kept each row inside its key; opening one moves its rows to a rowid table (one
    transaction; stores opened at once on the file all find it done), bodies, gzip forms and versions kept."""
    path = tmp_path / "documents.sqlite"
    docs = [make_doc(region, f"2024-01-{d:02d}", final=d % 2 == 0) for region in ("11", "84") for d in range(1, 11)]
    conn = sqlite3.connect(path)
    conn.execute(_WITHOUT_ROWID)
    for doc in docs:
        conn.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)", EmbeddedDocumentStore._columns(doc))
    conn.execute("UPDATE documents SET version = 3 WHERE id = '84:2024-01-05'")
    conn.commit()
    before = {row[0]: row[1:] for row in conn.execute("SELECT id, body, body_gzip, final, version FROM documents")}
    conn.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(lambda _: EmbeddedDocumentStore(path), range(4)))

    conn = sqlite3.connect(path)
    (table_sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'documents'").fetchone()
    after = {row[0]: row[1:] for row in conn.execute("SELECT id, body, body_gzip, final, version FROM documents")}
    indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert "WITHOUT ROWID" not in table_sql.upper()
    assert after == before and len(after) == len(docs)
    assert "ix_documents_range_hashes" in indexes
    store = stores[-1]
    assert store.get_versioned("84", "84:2024-01-05")[1] == "3"
    assert [d["key"] for d in store.query_range("11", "day", "2024-01-03", "2024-01-05")] == [
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    rendered = store.get_rendered("11", "11:2024-01-02")
    assert rendered is not None and rendered.final is True
    assert rendered.body == before["11:2024-01-02"][0].encode() and rendered.gzip == before["11:2024-01-02"][1]
    store.upsert(make_doc("11", "2024-01-02", version=2))  # and it is written to as any store
    assert store.get("11", "11:2024-01-02") == make_doc("11", "2024-01-02", version=2)


def test_a_file_written_before_versions_is_moved_with_version_one(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"
    doc = make_doc("84", "2024-01-01")
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE documents (region_code TEXT NOT NULL, id TEXT NOT NULL, doc_type TEXT, key TEXT, "
        "content_hash TEXT, body TEXT NOT NULL, PRIMARY KEY (region_code, id)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
        ("84", doc["id"], "day", doc["key"], doc["content_hash"], orjson.dumps(doc).decode()),
    )
    conn.commit()
    conn.close()
    store = EmbeddedDocumentStore(path)
    assert store.get_versioned("84", doc["id"]) == (doc, "1")
    assert store.replace_if(make_doc("84", "2024-01-01", version=2), "1")
    assert store.get_versioned("84", doc["id"])[1] == "2"
