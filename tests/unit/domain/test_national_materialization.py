"""FR materialized from the 12 regions' stored day documents, through the regional write path: sums per
interval, Σ(P·EF)/ΣP, incomplete days marked (never partial), month rollup, CSV files, changes feed, catalog."""

from __future__ import annotations

from typing import Any

import pytest

from domain import materialization as mat
from domain.carbon import carbon_intensity
from domain.change_feed import START, read_changes
from domain.models import DayDocument, MonthDocument
from domain.naming import CATALOG_DOC_ID, day_file_name, month_file_name
from domain.national_materialization import materialize_national
from domain.national_plan import national_batches
from domain.regions import REGIONS
from domain.sources import PRODUCTION_SOURCES
from stores.ports import SYSTEM_PARTITION
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows

DAYS = ("2024-03-30", "2024-03-31", "2024-04-01")  # 2024-03-31 is the spring DST day (46 half-hours)


def region_values(i: int, has_nuclear: bool) -> dict[str, float | None]:
    values: dict[str, float | None] = {
        "thermique": 10.0 * i,
        "hydraulique": 7.5 * i,
        "eolien": 5.0 + i,
        "solaire": 0.0,
        "consommation": 200.0 * i,
        "ech_physiques": -3.0 * i,
    }
    if has_nuclear:
        values["nucleaire"] = 100.0 * i
    return values


def make_gold(skip: tuple[str, str] | None = None) -> MemoryGold:
    rows: dict[str, list[Any]] = {}
    for i, region in enumerate(REGIONS, start=1):
        rows[region.code] = [
            r
            for day in DAYS
            if (region.code, day) != skip
            for r in gold_day_rows(day, region_values(i, region.has_nuclear))
        ]
    return MemoryGold(rows)


def run_all(gold: MemoryGold, docs: MemoryDocuments, files: MemoryFiles) -> tuple[dict[str, Any], list[Any]]:
    plan = mat.plan(gold, docs, {"mode": "incremental"}, parallelism=4)
    results: list[Any] = [mat.materialize_batch(gold, docs, files, b, now="t") for b in plan["batches"]]
    national = [materialize_national(docs, files, b, now="t") for b in national_batches(results)]
    return mat.commit(docs, plan, results + national, now="t", instance_id="test"), national


def region_days(docs: MemoryDocuments, day: str) -> list[dict[str, Any]]:
    return [d for r in REGIONS if (d := docs.get(r.code, f"{r.code}:{day}")) is not None]


def test_fr_sums_the_regions_per_interval_and_recomputes_the_intensity() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    summary, national = run_all(gold, docs, files)
    assert [n["month"] for n in national] == ["2024-03", "2024-04"] and summary["days_written"] == 36 + 3
    for day in DAYS:
        fr = docs.get("FR", f"FR:{day}")
        assert fr is not None
        DayDocument.model_validate(fr)
        regions = region_days(docs, day)
        assert len(regions) == 12 and fr["complete"] is True and fr["regions_missing"] == []
        assert fr["interval_count"] == (46 if day == "2024-03-31" else 48) and fr["final"] is True
        for k, interval in enumerate(fr["intervals"]):
            rows = [r["intervals"][k] for r in regions]
            assert {i["timestamp"] for i in rows} == {interval["timestamp"]}
            assert interval["consumption_mw"] == pytest.approx(sum(i["consumption_mw"] for i in rows))
            for source, value in interval["sources"].items():
                present = [i["sources"][source] for i in rows if i["sources"][source] is not None]
                assert value == (pytest.approx(sum(present)) if present else None), source
            assert interval["carbon_intensity_g_per_kwh"] == pytest.approx(
                carbon_intensity({s: interval["sources"][s] for s in PRODUCTION_SOURCES}), abs=1e-3
            )
            assert interval["complete"] is True
        assert fr["totals"]["consumption_mwh"] == pytest.approx(sum(r["totals"]["consumption_mwh"] for r in regions))
        assert files.exists(day_file_name("FR", day))
    for month in ("2024-03", "2024-04"):
        MonthDocument.model_validate(docs.get("FR", f"FR:{month}"))
        assert files.exists(month_file_name("FR", month))
    feed = read_changes(docs, START, 1000).entries
    assert {(e["kind"], e["key"]) for e in feed if e["region"] == "FR"} == {
        *(("day", d) for d in DAYS),
        ("month", "2024-03"),
        ("month", "2024-04"),
    }
    catalog = docs.get(SYSTEM_PARTITION, CATALOG_DOC_ID)
    assert catalog is not None
    assert next(r for r in catalog["regions"] if r["code"] == "FR")["first_day"] == DAYS[0]

    # Nothing changed: a rebuilt FR writes nothing and announces nothing.
    pages, upserts = len(feed), docs.upserts
    again = [
        materialize_national(docs, files, b, now="t2")
        for b in national_batches([{"region_code": "11", "attempted_days": list(DAYS)}])
    ]
    assert sum(r["days_written"] for r in again) == 0 and docs.upserts == upserts
    assert len(read_changes(docs, START, 1000).entries) == pages


def test_a_region_missing_a_day_makes_the_fr_day_incomplete_never_partial() -> None:
    gold, docs, files = make_gold(skip=("53", "2024-04-01")), MemoryDocuments(), MemoryFiles()
    run_all(gold, docs, files)
    fr = docs.get("FR", "FR:2024-04-01")
    assert fr is not None
    assert fr["complete"] is False and fr["regions_missing"] == ["53"] and fr["final"] is False
    assert all(i["complete"] is False and i["regions_missing"] == ["53"] for i in fr["intervals"])
    assert all(i["consumption_mw"] is None and i["carbon_intensity_g_per_kwh"] is None for i in fr["intervals"])
    assert all(i["production_mw"] is None for i in fr["hourly"])
    assert fr["totals"]["consumption_mwh"] is None and fr["totals"]["carbon_intensity_g_per_kwh"] is None
    assert docs.get("FR", "FR:2024-03-31")["complete"] is True  # type: ignore[index]


def test_a_region_changed_later_rebuilds_fr_for_that_day() -> None:
    gold, docs, files = make_gold(skip=("53", "2024-04-01")), MemoryDocuments(), MemoryFiles()
    run_all(gold, docs, files)
    gold.rows["53"] += gold_day_rows("2024-04-01", region_values(8, False), loaded_at="2025-02-01T00:00:00.000000Z")
    _, national = run_all(gold, docs, files)
    assert [(n["month"], n["days_written"]) for n in national] == [("2024-04", 1)]
    fr = docs.get("FR", "FR:2024-04-01")
    assert fr is not None and fr["complete"] is True and fr["source_loaded_at"] == "2025-02-01T00:00:00.000000Z"


def test_national_batches_are_the_months_and_days_the_regions_attempted() -> None:
    results: list[dict[str, Any]] = [
        {"region_code": "11", "attempted_days": ["2024-02-29", "2024-03-01"]},
        {"region_code": "93", "attempted_days": ["2024-03-01", "2024-03-02"]},
        {"region_code": "FR", "attempted_days": ["2024-05-01"]},
        {"region_code": "99", "attempted_days": ["2024-06-01"]},
        {"region_code": "44"},
    ]
    assert national_batches(results) == [
        {"region_code": "FR", "month": "2024-02", "days": ["2024-02-29"]},
        {"region_code": "FR", "month": "2024-03", "days": ["2024-03-01", "2024-03-02"]},
    ]
