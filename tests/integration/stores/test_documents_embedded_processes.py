"""The embedded documents store shared by processes: devhost's worker processes, a forked worker."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from stores.documents_embedded import EmbeddedDocumentStore
from tests.store_contracts import make_doc


def _write_range(path: str, region: str, count: int) -> None:
    store = EmbeddedDocumentStore(Path(path))
    for i in range(count):
        store.upsert(make_doc(region, f"k{i:03d}"))


def test_several_processes_create_and_write_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"  # not created yet: the processes race to create the schema
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_range, args=(str(path), region, 60)) for region in ("24", "27", "28")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store = EmbeddedDocumentStore(path)
    for region in ("24", "27", "28"):
        assert len(store.query_range(region, "day", "k000", "k999")) == 60


def test_connection_is_renewed_after_fork(tmp_path: Path) -> None:
    store = EmbeddedDocumentStore(tmp_path / "documents.sqlite")
    doc = make_doc("75", "2024-01-01")
    store.upsert(doc)
    ctx = multiprocessing.get_context("fork")
    queue: Any = ctx.Queue()

    def child() -> None:
        queue.put(store.get("75", doc["id"]))

    proc = ctx.Process(target=child)
    proc.start()
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert queue.get(timeout=5) == doc
