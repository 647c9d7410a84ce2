"""The embedded documents store shared by processes: devhost's worker processes, a forked worker."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.store_contracts import make_doc

ROOT = Path(__file__).resolve().parents[3]


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


def test_a_write_by_another_process_is_seen_at_once_by_kept_range_hashes(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"
    reader = EmbeddedDocumentStore(path)
    for d in range(1, 32):
        reader.upsert(make_doc("11", f"2024-01-{d:02d}"))
    span = ("11", "day", "2024-01-01", "2024-01-31")
    assert dict(reader.range_hashes(*span))["11:2024-01-05"] == "hash-11-2024-01-05-1"  # now kept
    code = (
        "import sys; from pathlib import Path; from stores.documents_embedded import EmbeddedDocumentStore;"
        "from tests.support.store_contracts import make_doc;"
        "EmbeddedDocumentStore(Path(sys.argv[1])).upsert(make_doc('11', '2024-01-05', version=2))"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True)
    assert dict(reader.range_hashes(*span))["11:2024-01-05"] == "hash-11-2024-01-05-2"
