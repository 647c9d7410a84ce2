"""Real éCO2mix files → Gold → materialized day documents: every region-day's MWh must equal an
independent SQL sum over Gold (Σ valeur_mw × 0.5 h per local day and source)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from domain import materialization
from domain.aggregate import SERIES_SOURCES
from domain.naming import day_doc_id
from domain.sources import CONSUMPTION
from stores.documents_embedded import EmbeddedDocumentStore
from stores.files_embedded import EmbeddedFileStore
from stores.gold import GoldReader
from tests.support.real_eco2mix import ECO2MIX, REAL_FILES, RealGold

REGIONAL_FILES = [p for p in REAL_FILES if p.parts[-3] in ("odre_regional", "rte_regional", "rte_regional_modified")]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not REGIONAL_FILES, reason=f"no éCO2mix files under {ECO2MIX}"),
]

SQL_DAY_ENERGY = """
SELECT r.code_insee, t.date_locale, s.source_name, SUM(f.valeur_mw) * 0.5, COUNT(f.valeur_mw)
FROM FACT_ENERGY_FLOW f
JOIN DIM_REGION r ON r.id_region = f.id_region
JOIN DIM_TIME t ON t.id_date = f.id_date
JOIN DIM_SOURCE s ON s.id_source = f.id_source
GROUP BY r.code_insee, t.date_locale, s.source_name
"""


@pytest.fixture(scope="module")
def materialized(real_gold: RealGold, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EmbeddedDocumentStore]:
    """The session's import of every real file (each imported on its own), materialized; Gold is only read."""
    rejected = [err for path, err in real_gold.results.items() if path in REGIONAL_FILES and isinstance(err, str)]
    if rejected:
        pytest.fail(f"real file rejected: {rejected[0]}")
    root = tmp_path_factory.mktemp("reconcile")
    gold_path = real_gold.db
    gold = GoldReader(lambda: sqlite3.connect(f"{gold_path.as_uri()}?mode=ro", uri=True))
    documents = EmbeddedDocumentStore(root / "documents.sqlite")
    files = EmbeddedFileStore(root / "files", b"k" * 32, "http://127.0.0.1:7071")
    plan = materialization.plan(gold, documents, {"mode": "incremental"}, parallelism=8)
    results = [materialization.materialize_batch(gold, documents, files, b) for b in plan["batches"]]
    materialization.commit(documents, plan, results)
    assert sum(r["days"] for r in results) == plan["partitions"]
    return gold_path, documents


def test_every_region_day_reconciles_with_gold(materialized: tuple[Path, EmbeddedDocumentStore]) -> None:
    gold_path, documents = materialized
    with sqlite3.connect(f"{gold_path.as_uri()}?mode=ro", uri=True) as conn:
        sums = conn.execute(SQL_DAY_ENERGY).fetchall()
    days = {(region, day) for region, day, *_ in sums}
    assert len(days) > 4_500  # 13 region-years of annual files + real-time excerpts
    docs = {key: documents.get(key[0], day_doc_id(*key)) for key in days}
    assert all(docs.values()), "a region-day of Gold has no document"
    mismatches = []
    for region, day, source, mwh, n_values in sums:
        totals = docs[(region, day)]["totals"]  # type: ignore[index]
        got = totals["consumption_mwh"] if source == CONSUMPTION else totals["energy_mwh"].get(source)
        expected = None if n_values == 0 else mwh
        if (got is None) != (expected is None) or (got is not None and abs(got - expected) > 0.01):
            mismatches.append((region, day, source, expected, got))
    assert not mismatches, f"{len(mismatches)} mismatches, e.g. {mismatches[:5]}"


def test_sources_absent_from_gold_stay_null(materialized: tuple[Path, EmbeddedDocumentStore]) -> None:
    """PACA and Île-de-France have no nuclear plant: their documents say null, never 0."""
    _, documents = materialized
    for region in ("93", "11"):
        docs = documents.query_range(region, "day", "2000-01-01", "2100-01-01")
        assert docs, region
        assert all(d["totals"]["energy_mwh"]["nucleaire"] is None for d in docs)
        assert all(i["sources"]["nucleaire"] is None for d in docs for i in d["intervals"])


def test_documents_cover_every_source_column(materialized: tuple[Path, EmbeddedDocumentStore]) -> None:
    _, documents = materialized
    doc = documents.query_range("32", "day", "2024-06-01", "2024-06-01")[0]
    assert set(doc["totals"]["energy_mwh"]) == set(SERIES_SOURCES)
    assert doc["interval_count"] == 48 and doc["intervals_with_data"] == 48
