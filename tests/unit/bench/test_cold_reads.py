"""bench.cold_reads measures every map size over the same documents of a real store file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cold_reads import cold_cells, main
from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.store_contracts import make_doc


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "documents.sqlite"
    store = EmbeddedDocumentStore(path)
    for region in ("11", "84"):
        for day in range(1, 41):
            key = f"2024-01-{day:02d}" if day <= 31 else f"2024-02-{day - 31:02d}"
            store.upsert(make_doc(region, key, padding="p" * 5000))
    store.close()
    return path


def test_each_round_measures_each_map_size_with_the_same_reads(store_path: Path) -> None:
    rows = cold_cells(store_path, rounds=2, points=30, ranges=5, map_sizes=(0, 2**20))
    assert [(r["round"], r["mmap_mib"]) for r in rows] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(r["point_reads"] == 30 and r["ranges"] == 5 for r in rows)
    assert all(r["point_p50_us"] > 0 and r["range_31d_p50_us"] > 0 for r in rows)


def test_a_store_without_day_documents_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "documents.sqlite"
    EmbeddedDocumentStore(path).upsert(make_doc("11", "2024-01", doc_type="month"))
    with pytest.raises(ValueError, match="no day documents"):
        cold_cells(path, rounds=1, points=1, ranges=1)


def test_main_prints_one_line_per_cell(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(store_path), "--rounds", "1", "--points", "5", "--ranges", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cold reads of") and len(lines) == 3
    assert "mmap_mib=0" in lines[1] and "mmap_mib=256" in lines[2]
