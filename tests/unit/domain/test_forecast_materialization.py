"""The forecast step: per area, a document from its stored days (history, origin at the end of the known data,
every variable the area reports, the backtest's metrics), none when the history is too short."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from domain import materialization as mat
from domain.forecast_materialization import HISTORY_DAYS, forecast_doc_id, forecast_for, materialize_forecast
from domain.national_materialization import materialize_national
from domain.national_plan import forecast_areas, national_batches
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows

START = date(2024, 3, 1)


def gold_for(days: int) -> MemoryGold:
    rows = []
    for n in range(days):
        day = (START + timedelta(days=n)).isoformat()
        wind = 100.0 + 50 * np.sin(n / 3)
        rows += gold_day_rows(day, {"eolien": wind, "thermique": 80.0 + n % 7 * 10, "consommation": 400.0 + n % 7})
    return MemoryGold({"93": rows})


def materialized(days: int) -> MemoryDocuments:
    gold, docs, files = gold_for(days), MemoryDocuments(), MemoryFiles()
    plan = mat.plan(gold, docs, {"mode": "incremental"}, parallelism=4)
    results: list[Any] = [mat.materialize_batch(gold, docs, files, b) for b in plan["batches"]]
    results += [materialize_national(docs, files, b) for b in national_batches(results)]
    mat.commit(docs, plan, results, now="t", instance_id="test")
    return docs


def test_a_forecast_document_per_area_from_its_stored_days() -> None:
    docs = materialized(30)
    result = materialize_forecast(docs, "93", "2025-01-01T00:00:00+00:00")
    assert result["written"] is True and result["days"] == 30
    doc = docs.get("93", forecast_doc_id("93"))
    assert doc is not None and doc["doc_type"] == "forecast" and doc["region_name"] == "Provence-Alpes-Côte d'Azur"
    assert doc["origin"] == "2024-03-30T23:00:00Z"  # the end of the last day: 2024-03-31 00:00 in Paris
    assert len(doc["intervals"]) == 96 and doc["intervals"][0]["timestamp"] == "2024-03-31T00:00:00+01:00"
    assert doc["intervals"][4]["timestamp"] == "2024-03-31T03:00:00+02:00"  # the spring DST change
    assert set(doc["units"]) == {"carbon_intensity_g_per_kwh", "consumption_mw", "sources.eolien", "sources.thermique"}
    bands = doc["models"]["carbon_intensity_g_per_kwh"]["bands"]
    assert [b["band"] for b in bands] == ["0-6h", "6-24h", "24-48h"]
    assert all(b["mae"] <= b["mae_seasonal_naive"] for b in bands)  # never worse than seasonal-naive
    assert doc["history"] == {"first_day": "2024-03-01", "last_day": "2024-03-30", "days": 30}
    assert "no weather" in doc["exogenous_inputs"]
    first = doc["intervals"][0]["carbon_intensity_g_per_kwh"]
    assert first["lower"] <= first["value"] <= first["upper"]
    # FR: incomplete (11 regions lack data), so it has no intensity to forecast from.
    assert materialize_forecast(docs, "FR", "t")["written"] is False


def test_too_short_a_history_gives_no_forecast() -> None:
    docs = materialized(8)  # one week + 48 h are needed to backtest
    assert materialize_forecast(docs, "93", "t") == {
        "region_code": "93",
        "written": False,
        "reason": "history too short",
        "days": 8,
    }
    assert docs.get("93", forecast_doc_id("93")) is None
    assert materialize_forecast(docs, "11", "t")["reason"] == "no materialized day"


def test_only_the_history_window_is_read_and_the_future_cannot_leak() -> None:
    docs = materialized(30)
    days = docs.query_range("93", "day", "2024-03-01", "2024-03-30")
    doc = forecast_for("93", days, "t")
    again = forecast_for("93", days[-20:], "t")  # a shorter history changes the climatology, not the origin
    assert doc is not None and again is not None and doc["origin"] == again["origin"]
    assert HISTORY_DAYS == 365


def test_forecast_areas_are_those_a_run_built_days_for() -> None:
    results = [{"region_code": "93", "days": 3}, {"region_code": "11", "days": 0}, {"region_code": "FR", "days": 3}]
    assert forecast_areas(results) == ["93", "FR"]


def test_the_month_series_serve_the_forecast_and_a_stale_one_is_not_trusted() -> None:
    docs = materialized(40)  # 2024-03-01 … 2024-04-09: the national step wrote the month series
    series_ids = {d["id"] for d in docs.docs.values() if d.get("doc_type") == "series" and d["region_code"] == "93"}
    assert series_ids == {"series:2024-03", "series:2024-04"}
    from_cache = materialize_forecast(docs, "93", "t")
    assert from_cache["written"] and from_cache["months_from_days"] == 0 and from_cache["days"] == 40
    cached_doc = docs.get("93", forecast_doc_id("93"))
    day_docs = docs.query_range("93", "day", "2024-03-01", "2024-04-09")
    direct = forecast_for("93", day_docs, "t")
    assert direct is not None and cached_doc is not None
    assert direct["intervals"] == cached_doc["intervals"] and direct["models"] == cached_doc["models"]

    # A day rewritten after its month series (another run, a crash in between): that month is read from days.
    day = docs.get("93", "93:2024-04-09")
    assert day is not None
    changed = {**day, "content_hash": "rewritten"}
    for interval in changed["intervals"]:
        interval["carbon_intensity_g_per_kwh"] = 1.0
    docs.upsert(changed)
    stale = materialize_forecast(docs, "93", "t")
    assert stale["months_from_days"] == 1
    rebuilt = docs.get("93", forecast_doc_id("93"))
    assert rebuilt is not None and rebuilt["intervals"] != cached_doc["intervals"]
