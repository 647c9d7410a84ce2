"""The importer on every real éCO2mix file (`real_gold` of tests/conftest.py: imported once per run, 30 s+)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localdev.gold_import import ImportReport, import_files
from tests.support.real_eco2mix import REAL_FILES, RealGold

REGION_BY_NAME_PART = {
    "Hauts-de-France": "32",
    "Nouvelle-Aquitaine": "75",
    "PACA": "93",
    "Ile-de-France": "11",
    "Occitanie": "76",
    "cons-def": "32",
    "regional-tr": "93",
}


def _expected_region(path: Path) -> str | None:
    if "rte_national" in path.parts:
        return None
    return next(code for part, code in REGION_BY_NAME_PART.items() if part in path.name)


def _data_lines(path: Path) -> int:
    """Lines that carry data: not blank, not the header, not RTE's disclaimer (counted independently)."""
    lines = [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]
    return len(lines) - 1 - sum(ln.startswith(b"RTE ne pourra") for ln in lines)


# `real_gold` (tests/conftest.py): every real file imported once per session, each on its own, into one Gold DB.


@pytest.mark.slow
@pytest.mark.parametrize("path", REAL_FILES, ids=[p.name for p in REAL_FILES])
def test_every_real_file_imports_or_is_rejected_as_national(real_gold: RealGold, path: Path) -> None:
    result = real_gold.results[path]
    region = _expected_region(path)
    if region is None:
        assert isinstance(result, str) and "national file, no region" in result
        return
    assert isinstance(result, ImportReport)
    assert result.region_codes == (region,)
    assert result.rows_read == _data_lines(path)
    assert result.facts_written > 0


@pytest.mark.slow
def test_imported_real_rows_balance_within_30_mw(real_gold: RealGold) -> None:
    conn = sqlite3.connect(f"{real_gold.db.as_uri()}?mode=ro", uri=True)
    try:
        checked, worst = conn.execute(
            "SELECT COUNT(*), MAX(ABS(residual)) FROM ("
            " SELECT SUM(CASE WHEN s.source_name = 'consommation' THEN f.valeur_mw ELSE -f.valeur_mw END) AS residual,"
            "  SUM(f.valeur_mw IS NULL) AS nulls, SUM(s.source_name = 'consommation') AS has_consumption"
            " FROM FACT_ENERGY_FLOW f JOIN DIM_SOURCE s USING (id_source) GROUP BY f.id_region, f.id_date"
            ") WHERE nulls = 0 AND has_consumption = 1"
        ).fetchone()
    finally:
        conn.close()
    print(f"\nbalance checked on {checked} region-half-hours, worst residual {worst:.1f} MW")
    assert checked > 200_000  # ~17.5 k half-hours in each of the 13 annual files
    assert worst <= 30


@pytest.mark.slow
def test_reimporting_a_real_file_changes_nothing(real_gold: RealGold, tmp_path: Path) -> None:
    db = real_gold.copy_of(tmp_path / "gold.sqlite")  # the session's DB stays as imported
    path = max((p for p, r in real_gold.results.items() if isinstance(r, ImportReport)), key=lambda p: p.stat().st_size)
    [again] = import_files(db, [path])
    assert (again.facts_written, again.facts_updated) == (0, 0)
    assert again.facts_unchanged > 100_000
