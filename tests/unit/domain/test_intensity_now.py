"""intensity-now: the newest half-hour with an intensity of each region and of FR, rewritten at every commit."""

from __future__ import annotations

from typing import Any

from domain import materialization as mat
from domain.intensity_now import INTENSITY_NOW_DOC_ID, latest_interval, write_intensity_now
from domain.national_materialization import materialize_national
from domain.national_plan import national_batches
from domain.regions import REGIONS
from stores.ports import SYSTEM_PARTITION
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows


def run(gold: MemoryGold, docs: MemoryDocuments, files: MemoryFiles, now: str) -> dict[str, Any]:
    plan = mat.plan(gold, docs, {"mode": "incremental"}, parallelism=4)
    results: list[Any] = [mat.materialize_batch(gold, docs, files, b, now=now) for b in plan["batches"]]
    results += [materialize_national(docs, files, b, now=now) for b in national_batches(results)]
    mat.commit(docs, plan, results, now=now, instance_id="test")
    return write_intensity_now(docs, now)


def test_latest_interval_skips_trailing_half_hours_without_data() -> None:
    rows = gold_day_rows("2024-07-14", {"solaire": 300.0, "thermique": 100.0, "consommation": 900.0})
    late = [r for r in rows if r.horodatage_utc >= "2024-07-14T20:00:00Z"]
    gold = MemoryGold({"93": [r._replace(valeur_mw=None) if r in late else r for r in rows]})
    doc = run(gold, MemoryDocuments(), MemoryFiles(), "2025-01-01T00:00:00Z")
    [item] = [i for i in doc["items"] if i["region_code"] == "93"]
    assert item["timestamp"] == "2024-07-14T21:30:00+02:00"  # 19:30 UTC: the last half-hour with values
    assert item["carbon_intensity_g_per_kwh"] is not None and item["consumption_mw"] == 900
    assert item["mix_pct"]["solaire"] == 75 and item["mix_pct"]["thermique"] == 25 and item["mix_pct"]["eolien"] is None
    assert item["nature"] == "Données définitives"
    assert latest_interval([]) is None


def test_every_area_and_fr_and_it_changes_with_every_commit() -> None:
    values: dict[str, float | None] = {"thermique": 100.0, "eolien": 50.0, "consommation": 900.0}
    gold = MemoryGold({r.code: gold_day_rows("2024-07-14", values) for r in REGIONS})
    docs, files = MemoryDocuments(), MemoryFiles()
    first = run(gold, docs, files, "2025-01-01T00:00:00Z")
    assert [i["region_code"] for i in first["items"]] == [*(r.code for r in REGIONS), "FR"] and first["missing"] == []
    fr = first["items"][-1]
    assert fr["complete"] is True and fr["consumption_mw"] == 12 * 900 and fr["date"] == "2024-07-14"
    second = run(gold, docs, files, "2025-01-01T00:05:00Z")  # a commit with nothing new
    assert second["materialized_at"] != first["materialized_at"]
    assert docs.get(SYSTEM_PARTITION, INTENSITY_NOW_DOC_ID) == second
    # A newer day for one region only: that region moves on; FR's newer day is incomplete (all null), so FR
    # stays on its last complete half-hour instead of showing a partial France.
    gold.rows["11"] += gold_day_rows("2024-07-15", values, loaded_at="2025-02-01T00:00:00.000000Z")
    third = run(gold, docs, files, "2025-02-01T01:00:00Z")
    assert third["items"][0]["date"] == "2024-07-15" and third["items"][1]["date"] == "2024-07-14"
    assert third["items"][-1]["date"] == "2024-07-14" and third["items"][-1]["complete"] is True
    assert third["watermark"] == "2025-02-01T00:00:00.000000Z"
