"""Embedded document store: one SQLite table in WAL mode, the local stand-in for the Cosmos container."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import orjson

from domain.items import ITEM_FIELDS, stored_items
from domain.ports import RenderedDocument, StoredItems
from stores.ports import Document
from stores.sqlite_faults import as_unavailable, sqlite_faults_as_unavailable

# A rowid table: its B-tree's interior cells hold only rowids and the key's index holds only the key, so a lookup
# reads the pages of its own row alone. Files before (WITHOUT ROWID) kept each ~30 KB row inside its key, and every
# comparison of a lookup read a row's whole payload, overflow pages too (SQLite advises such tables only for rows
# under ~1/20 of a page): a cold point read ~90 µs instead of ~20 µs. Those files are moved once, when opened.
_TABLE = """CREATE TABLE IF NOT EXISTS {name} (
        region_code TEXT NOT NULL,
        id TEXT NOT NULL,
        doc_type TEXT,
        key TEXT,
        content_hash TEXT,
        body TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        body_gzip BLOB,
        final INTEGER,
        PRIMARY KEY (region_code, id)
    )"""
_COLUMNS = ("region_code", "id", "doc_type", "key", "content_hash", "body", "version", "body_gzip", "final")
_SCHEMA = (
    _TABLE.format(name="documents"),
    # Ranges by (region, type, key); it also covers range_hashes (ids and hashes from the index alone: without
    # that each row of a 31-day range is a lookup in the table, whose leaves hold ~30 KB rows: ~1 ms, not ~20 µs).
    "CREATE INDEX IF NOT EXISTS ix_documents_range_hashes ON documents (region_code, doc_type, key, id, content_hash)",
    "DROP INDEX IF EXISTS ix_documents_type_key",  # the narrower index of earlier files: a prefix of the one above
    # Each day and month document's items as a range answers them (domain.items), pre-serialized when the document
    # is written: a cold range page joins these bytes (no parse). A document written before this table has no rows
    # here, and a row whose content_hash is not its document's is not used: the reader renders those.
    """CREATE TABLE IF NOT EXISTS rendered_items (
        region_code TEXT NOT NULL,
        doc_type TEXT NOT NULL,
        field TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        items BLOB NOT NULL,
        starts BLOB NOT NULL,
        dates TEXT NOT NULL,
        PRIMARY KEY (region_code, doc_type, field, key, id)
    )""",
)
_DELETE_ITEMS = "DELETE FROM rendered_items WHERE region_code = ? AND id = ?"
_INSERT_ITEMS = (
    "INSERT OR REPLACE INTO rendered_items (region_code, doc_type, field, key, id, content_hash, items, starts, dates) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RANGE_ITEMS = (
    "SELECT id, content_hash, items, starts, dates FROM rendered_items "
    "WHERE region_code = ? AND doc_type = ? AND field = ? AND key >= ? AND key <= ?"
)

_GET = "SELECT body FROM documents WHERE region_code = ? AND id = ?"
# The body as bytes (no UTF-8 decoding into a str): a point read answers them as they are.
_GET_RENDERED = (
    "SELECT CAST(body AS BLOB), body_gzip, content_hash, final FROM documents WHERE region_code = ? AND id = ?"
)
_GET_VERSIONED = "SELECT body, version FROM documents WHERE region_code = ? AND id = ?"
# Every write bumps `version`: the compare-and-swap tag (the embedded store's ETag).
_INSERT = (
    "INSERT INTO documents (region_code, id, doc_type, key, content_hash, body, body_gzip, final) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
)
_UPSERT = _INSERT + (
    "ON CONFLICT (region_code, id) DO UPDATE SET doc_type = excluded.doc_type, key = excluded.key, "
    "content_hash = excluded.content_hash, body = excluded.body, body_gzip = excluded.body_gzip, "
    "final = excluded.final, version = documents.version + 1"
)
_CREATE_IF_ABSENT = _INSERT + "ON CONFLICT (region_code, id) DO NOTHING"
_REPLACE_IF_VERSION = (
    "UPDATE documents SET doc_type = ?, key = ?, content_hash = ?, body = ?, body_gzip = ?, final = ?, "
    "version = version + 1 WHERE region_code = ? AND id = ? AND version = ?"
)
_RANGE = "SELECT body FROM documents WHERE region_code = ? AND doc_type = ? AND key >= ? AND key <= ? ORDER BY key, id"
_RANGE_HASHES = (
    "SELECT id, content_hash FROM documents WHERE region_code = ? AND doc_type = ? AND key >= ? AND key <= ? "
    "ORDER BY key, id"
)
# SQLite's default limit on host parameters is 999 in old builds; stay under it.
_IN_CHUNK = 500
_BUSY_TIMEOUT_MS = 10_000
# The gzip form kept beside each body (level 1, as the API compresses: ~87 % smaller for a third of the CPU of
# level 6; mtime=0 so equal bodies give equal bytes).
_GZIP_LEVEL = 1
Columns = tuple[str, str, str | None, str | None, str | None, str, bytes | None, int | None]
ItemsRow = tuple[str, str, str, str, str, str, bytes, bytes, str]
STORE_NAME = "documents"
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _optional_str(doc: Document, field: str) -> str | None:
    value = doc.get(field)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"document field {field!r} must be a string, got {type(value).__name__}")


def _store_call(
    method: Callable[Concatenate[EmbeddedDocumentStore, _P], _R],
) -> Callable[Concatenate[EmbeddedDocumentStore, _P], _R]:
    """A lock held past the busy timeout, a disk error...: StoreUnavailable (503 + Retry-After), as Cosmos faults."""

    @wraps(method)
    def call(store: EmbeddedDocumentStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        # try/except, not the context manager: this wraps every read (~0.03 µs instead of ~0.7 µs).
        try:
            return method(store, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            raise as_unavailable(exc, STORE_NAME, on_broken=store.close) from exc

    return call


def _rows_inside_the_key(conn: sqlite3.Connection) -> bool:
    """A file written before the rowid table (see _TABLE)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'documents'").fetchone()
    return row is not None and "WITHOUT ROWID" in row[0].upper()


def _move_to_a_rowid_table(conn: sqlite3.Connection) -> None:
    """Copy the rows into a rowid table and put it in the old one's place, in one transaction: a crash leaves the
    file as it was, and a process that waited for the lock finds the move done. The old table's pages go to the
    file's free list (reused by later writes; the file does not shrink)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _rows_inside_the_key(conn):
            present = {row[1] for row in conn.execute("PRAGMA table_info(documents)")}
            # The columns this file has, of ours (older files lack the later ones: they take their defaults).
            columns = ", ".join(name for name in _COLUMNS if name in present)
            conn.execute(_TABLE.format(name="documents_rowid"))
            conn.execute(f"INSERT INTO documents_rowid ({columns}) SELECT {columns} FROM documents")  # noqa: S608
            conn.execute("DROP TABLE documents")
            conn.execute("ALTER TABLE documents_rowid RENAME TO documents")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class EmbeddedDocumentStore:
    """DocumentStore over SQLite. One connection per thread (and per process after a fork)."""

    @_store_call
    def __init__(
        self,
        path: Path,
        busy_timeout_seconds: float = _BUSY_TIMEOUT_MS / 1000,
        mmap_bytes: int = 0,
    ) -> None:
        # The busy timeout bounds a wait on another connection's lock: short for the API's reads.
        self._busy_timeout_ms = max(1, int(busy_timeout_seconds * 1000))
        self.path = Path(path)
        if mmap_bytes < 0:
            raise ValueError("mmap_bytes must be 0 (reads by pread) or a positive size")
        self.mmap_bytes = mmap_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._connection()
        # WAL lets readers run beside the one writer; it is a property of the file, set once.
        conn.execute("PRAGMA journal_mode=WAL")
        if _rows_inside_the_key(conn):
            # A reader that meets another process's move past its short busy timeout answers 503, as any lock.
            with sqlite_faults_as_unavailable(STORE_NAME):
                _move_to_a_rowid_table(conn)
        # Every file before the rowid table was WITHOUT ROWID, so the move above also gives an older file the
        # columns it lacks (version 1; no gzip form or finality: rendered on demand): no ALTER is left to make.
        for statement in _SCHEMA:
            conn.execute(statement)

    @property
    def busy_timeout_seconds(self) -> float:
        return self._busy_timeout_ms / 1000

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        # A connection inherited through fork() is abandoned, not closed: closing it in the child could
        # drop the parent's POSIX locks on the file (SQLite: never use a connection across fork).
        # isolation_level=None: each statement commits on its own, so an upsert is one atomic statement.
        # cached_statements: sqlite3 keeps the prepared statements by SQL text; ours are few and fixed.
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=True,
            cached_statements=64,
        )
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps the file consistent
        if self.mmap_bytes:
            # Reads of the file's first mmap_bytes from the OS page cache in place, not by pread into SQLite's
            # own 2 MB cache: a cold point read walks a key's overflow pages, ~90 -> ~40 µs (docs/performance.md).
            # The pages touched count in the process's RSS (shared, reclaimable). Caveat: an I/O error on a mapped
            # page (disk failure, file truncated by another program) is a SIGBUS that ends the process, not a 503.
            conn.execute(f"PRAGMA mmap_size={int(self.mmap_bytes)}")
        local.conn = conn
        local.pid = os.getpid()
        return conn

    @staticmethod
    def _columns(doc: Document) -> Columns:
        """(region_code, id, doc_type, key, content_hash, body, body_gzip, final) of a document to write.

        A document with a content hash is one a read may answer as it is: its gzip form is made here, once."""
        region_code, doc_id = doc.get("region_code"), doc.get("id")
        if not isinstance(region_code, str) or not region_code or not isinstance(doc_id, str) or not doc_id:
            raise ValueError("a document needs non-empty string `id` and `region_code`")
        # A document with a content hash had its numbers checked finite by the hashing (domain.hashing);
        # orjson writes the same text as json.dumps, 4x faster, but would write NaN as null, so any other
        # document goes through json, which refuses NaN.
        if isinstance(doc.get("content_hash"), str):
            body = orjson.dumps(doc).decode("utf-8")
        else:
            body = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        content_hash = _optional_str(doc, "content_hash")
        body_gzip = gzip.compress(body.encode(), compresslevel=_GZIP_LEVEL, mtime=0) if content_hash else None
        final = doc.get("final")
        return (
            region_code,
            doc_id,
            _optional_str(doc, "doc_type"),
            _optional_str(doc, "key"),
            content_hash,
            body,
            body_gzip,
            int(final) if isinstance(final, bool) else None,
        )

    @staticmethod
    def _items_rows(doc: Document) -> list[ItemsRow]:
        """The rendered_items rows of a document (none for a document that is not a day or a month)."""
        key = doc.get("key")
        if not isinstance(key, str):
            return []
        return [
            (
                doc["region_code"],
                doc["doc_type"],
                field,
                key,
                doc["id"],
                stored.content_hash,
                stored.blob,
                array("I", stored.starts).tobytes(),
                ",".join(stored.dates),
            )
            for field, stored in stored_items(doc).items()
        ]

    def _write_items(self, conn: sqlite3.Connection, doc: Document, rows: list[ItemsRow]) -> None:
        conn.execute(_DELETE_ITEMS, (doc["region_code"], doc["id"]))
        if rows:
            conn.executemany(_INSERT_ITEMS, rows)

    @_store_call
    def upsert(self, doc: Document) -> None:
        columns, rows = self._prepared(doc)
        conn = self._connection()
        if doc.get("doc_type") not in ITEM_FIELDS:  # a document with no items (system documents): one statement
            conn.execute(_UPSERT, columns)
        else:
            with self.transaction():  # the document and its items together
                conn.execute(_UPSERT, columns)
                self._write_items(conn, doc, rows)

    def prepare(self, docs: list[Document]) -> None:
        """Serialize (JSON, gzip) these documents now for this thread's next writes of them: done before a
        transaction, the lock it holds covers only the statements. Kept until written or the transaction ends."""
        prepared: dict[int, tuple[Document, Columns, list[ItemsRow]]] = self._local.__dict__.setdefault("prepared", {})
        for doc in docs:
            # the entry holds the document: its id stays unique
            prepared[id(doc)] = (doc, self._columns(doc), self._items_rows(doc))

    def _prepared(self, doc: Document) -> tuple[Columns, list[ItemsRow]]:
        entry = self._local.__dict__.get("prepared", {}).pop(id(doc), None)
        if entry is not None and entry[0] is doc:
            return entry[1], entry[2]
        return self._columns(doc), self._items_rows(doc)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """This thread's writes inside commit together (one commit for a batch's days, not one each); a read
        inside sees the file as it is, and no other connection writes until the end (BEGIN IMMEDIATE).
        Nested: part of the outer transaction. An exception rolls every write inside back."""
        conn = self._connection()
        if conn.in_transaction:
            yield
            return
        try:
            with sqlite_faults_as_unavailable(STORE_NAME, on_broken=self.close):
                conn.execute("BEGIN IMMEDIATE")
            yield
            with sqlite_faults_as_unavailable(STORE_NAME, on_broken=self.close):
                conn.execute("COMMIT")
        except BaseException:
            # The first error is the one to raise: a rollback of a closed or already rolled-back connection
            # only fails again (SQLite rolls back a connection that closes mid-transaction itself).
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise
        finally:
            self._local.__dict__.pop("prepared", None)  # documents prepared and not written: not kept

    @_store_call
    def get_versioned(self, region_code: str, doc_id: str) -> tuple[Document | None, str | None]:
        row = self._connection().execute(_GET_VERSIONED, (region_code, doc_id)).fetchone()
        if row is None:
            return None, None
        return orjson.loads(row[0]), str(row[1])

    @_store_call
    def replace_if(self, doc: Document, version: str | None) -> bool:
        columns, rows = self._prepared(doc)
        conn = self._connection()
        # A day or month document and its items together; any other document in one statement.
        with self.transaction() if doc.get("doc_type") in ITEM_FIELDS else contextlib.nullcontext():
            if version is None:
                cursor = conn.execute(_CREATE_IF_ABSENT, columns)
            else:
                region_code, doc_id, *values = columns
                cursor = conn.execute(_REPLACE_IF_VERSION, (*values, region_code, doc_id, int(version)))
            if cursor.rowcount == 1 and doc.get("doc_type") in ITEM_FIELDS:
                self._write_items(conn, doc, rows)
        return cursor.rowcount == 1

    @_store_call
    def get(self, region_code: str, doc_id: str) -> Document | None:
        row = self._connection().execute(_GET, (region_code, doc_id)).fetchone()
        if row is None:
            return None
        # orjson parses a ~19 KB day document about 3x faster than json (this is the API's hot path).
        doc: Document = orjson.loads(row[0])
        return doc

    @_store_call
    def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        """The stored bytes as they are (written by orjson from the document: what a read of it answers)."""
        row = self._connection().execute(_GET_RENDERED, (region_code, doc_id)).fetchone()
        if row is None:
            return None
        body, body_gzip, content_hash, final = row
        if final is None:  # a row written before the column existed
            final = orjson.loads(body).get("final") is True
        return RenderedDocument(body, body_gzip, content_hash, bool(final))

    @_store_call
    def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        rows = self._connection().execute(_RANGE, (region_code, doc_type, first_key, last_key)).fetchall()
        return [orjson.loads(body) for (body,) in rows]

    @_store_call
    def range_hashes(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[tuple[str, str]]:
        """From the covering index alone (no row read)."""
        key = (region_code, doc_type, first_key, last_key)
        return [(doc_id, content_hash or "") for doc_id, content_hash in self._connection().execute(_RANGE_HASHES, key)]

    @_store_call
    def range_items(
        self, region_code: str, doc_type: str, first_key: str, last_key: str, field: str
    ) -> dict[str, StoredItems]:
        """The stored items of `field` of the range's documents that have them, by id."""
        rows = self._connection().execute(_RANGE_ITEMS, (region_code, doc_type, field, first_key, last_key))
        found: dict[str, StoredItems] = {}
        for doc_id, content_hash, items, starts, dates in rows:
            offsets = array("I")
            offsets.frombytes(starts)
            found[doc_id] = StoredItems(content_hash, items, tuple(offsets), tuple(dates.split(",")) if dates else ())
        return found

    @_store_call
    def content_hashes(self, region_code: str, doc_ids: list[str]) -> dict[str, str]:
        conn = self._connection()
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(doc_ids))
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, content_hash FROM documents WHERE region_code = ? AND id IN ({marks})"  # noqa: S608 (only ? marks)
            for doc_id, content_hash in conn.execute(sql, (region_code, *chunk)):
                if content_hash is not None:
                    found[doc_id] = content_hash
        return found

    @_store_call
    def ping(self) -> None:
        self._connection().execute("SELECT 1 FROM documents LIMIT 1").fetchall()

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end or at exit)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
