from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from bench.load_test import _mixed_path, _runtime_status, document_counts
from bench.shapes import Span


def make_documents_db(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Fixture factory: a documents table like the embedded store's, with (region, id, doc_type) rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE documents (region_code TEXT, id TEXT, doc_type TEXT, body TEXT)")
        conn.executemany("INSERT INTO documents VALUES (?, ?, ?, '{}')", rows)
    return path


def test_document_counts_by_type_ignoring_gold_and_other_files(tmp_path: Path) -> None:
    make_documents_db(tmp_path / "documents.sqlite", [("11", "11:2024-01-01", "day"), ("11", "11:2024-01", "month")])
    make_documents_db(tmp_path / "gold.sqlite", [("x", "y", "day")] * 5)  # never counted: Gold is not the store
    (tmp_path / "devhost.sqlite").write_bytes(b"")  # no documents table
    assert document_counts(tmp_path) == {"day": 1, "month": 1}


def test_document_counts_without_store(tmp_path: Path) -> None:
    assert document_counts(tmp_path) is None


def _route(path: str) -> str:
    if path.startswith("/v1/production/regional/"):
        return "point read"
    if path.startswith("/v1/production/regional?"):
        return "range"
    return path.split("?")[0]


def test_mixed_paths_cover_every_route_with_its_status() -> None:
    make_path, expect = _mixed_path(Span.of_years(1, 2024))
    rng = random.Random(5)
    routes = {}
    for _ in range(400):
        path = make_path(rng)
        routes[_route(path)] = expect(path)
    assert routes == {"point read": 200, "range": 200, "/v1/export/csv": 302}


def test_runtime_status_reads_either_spelling() -> None:
    assert _runtime_status({"runtime_status": "Completed"}) == "Completed"
    assert _runtime_status({"runtimeStatus": "Running"}) == "Running"
    assert _runtime_status({}) is None
