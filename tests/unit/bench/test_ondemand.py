"""The on-demand baseline must answer with the same numbers as the materialized documents (domain.aggregate)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bench import ondemand
from domain.aggregate import build_day_documents, day_instants
from domain.models import GoldRow
from domain.sources import ALL_SOURCES
from localdev.gold_schema import SOURCE_IDS, create_schema, region_id, time_rows

LOADED_AT = "2025-01-15T00:00:00.000000Z"
NATURE = "Données définitives"
REGION = "28"


def _rows_for(days: list[str], seed: int) -> list[GoldRow]:
    """Half-hourly rows with random values, some NULL values and some absent rows (gaps)."""
    rng = random.Random(seed)
    rows: list[GoldRow] = []
    for day in days:
        for instant in day_instants(date.fromisoformat(day)):
            for source in ALL_SOURCES:
                if rng.random() < 0.05:
                    continue  # no row at all for this instant and source
                value = None if rng.random() < 0.05 else round(rng.uniform(-50, 5000), 1)
                load = None if source not in ("nucleaire", "eolien", "solaire") else round(rng.uniform(0, 100), 2)
                stamp = instant.to_pydatetime().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                rows.append(GoldRow(stamp, day, source, value, load, LOADED_AT, NATURE))
    return rows


def make_gold(path: Path, rows: list[GoldRow]) -> Path:
    """Fixture factory: a tiny Gold SQLite DB (the real embedded schema) holding `rows` for region REGION."""
    conn = sqlite3.connect(path)
    create_schema(conn)

    def minutes(stamp: str) -> int:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) // 60

    conn.executemany(
        "INSERT INTO DIM_TIME (id_date, horodatage, date_locale, heure_locale, utc_offset_minutes) "
        "VALUES (?, ?, ?, ?, ?)",
        time_rows(sorted({minutes(r.horodatage_utc) for r in rows})),
    )
    conn.executemany(
        "INSERT INTO FACT_ENERGY_FLOW (id_region, id_date, id_source, valeur_mw, facteur_charge, nature, loaded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (region_id(REGION), minutes(r.horodatage_utc), SOURCE_IDS[r.source_name], *r[3:5], r.nature, r.loaded_at)
            for r in rows
        ],
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def gold_conn(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, list[GoldRow]]]:
    days = ["2024-03-30", "2024-03-31", "2024-04-01", "2024-10-26", "2024-10-27", "2024-10-28"]
    rows = _rows_for(days, seed=11)
    conn = ondemand.connect_readonly(make_gold(tmp_path / "gold.sqlite", rows))
    yield conn, rows
    conn.close()


def _docs(rows: list[GoldRow], first: str, last: str) -> list[dict]:
    return build_day_documents(REGION, [r for r in rows if first <= r.date_locale <= last])


@pytest.mark.parametrize(
    ("day", "intervals", "hours"), [("2024-03-31", 46, 23), ("2024-10-27", 50, 25), ("2024-04-01", 48, 24)]
)
def test_day_body_matches_day_document(gold_conn, day: str, intervals: int, hours: int) -> None:
    conn, rows = gold_conn
    (doc,) = _docs(rows, day, day)
    body = json.loads(ondemand.day_body(conn, REGION, day))
    assert body["interval_count"] == intervals == doc["interval_count"]
    assert len(body["hourly"]) == hours
    assert body["intervals"] == doc["intervals"]
    assert body["hourly"] == doc["hourly"]
    for field in ("energy_mwh", "production_mwh", "consumption_mwh", "carbon_intensity_g_per_kwh"):
        assert body["totals"][field] == pytest.approx(doc["totals"][field], abs=2e-3), field


def test_missing_values_stay_null(gold_conn) -> None:
    conn, rows = gold_conn
    body = json.loads(ondemand.day_body(conn, REGION, "2024-03-31"))
    nulls = sum(v is None for i in body["intervals"] for v in i["sources"].values())
    zero_for_null = [r for r in rows if r.date_locale == "2024-03-31" and r.valeur_mw is None]
    assert zero_for_null and nulls >= len([r for r in zero_for_null if r.source_name != "consommation"])


def test_hourly_range_matches_the_days_hourly_series(gold_conn) -> None:
    conn, rows = gold_conn
    body = json.loads(ondemand.hourly_range_body(conn, REGION, "2024-10-26", "2024-10-28"))
    expected = [h for d in _docs(rows, "2024-10-26", "2024-10-28") for h in d["hourly"]]
    assert len(body["items"]) == 24 + 25 + 24
    assert body["items"] == expected


def test_daily_range_matches_day_totals(gold_conn) -> None:
    conn, rows = gold_conn
    body = json.loads(ondemand.daily_range_body(conn, REGION, "2024-03-30", "2024-04-01"))
    docs = _docs(rows, "2024-03-30", "2024-04-01")
    assert [i["date"] for i in body["items"]] == [d["date"] for d in docs]
    for item, doc in zip(body["items"], docs, strict=True):
        assert item["energy_mwh"] == pytest.approx(doc["totals"]["energy_mwh"], abs=2e-3)
        assert item["production_mwh"] == pytest.approx(doc["totals"]["production_mwh"], abs=2e-3)
        assert item["consumption_mwh"] == pytest.approx(doc["totals"]["consumption_mwh"], abs=2e-3)
        assert item["carbon_intensity_g_per_kwh"] == pytest.approx(
            doc["totals"]["carbon_intensity_g_per_kwh"], abs=2e-3
        )


def test_energy_is_mw_times_half_hours(tmp_path: Path) -> None:
    day = "2024-03-31"  # 46 half-hours
    start = datetime(2024, 3, 30, 23, tzinfo=UTC)
    rows = [
        GoldRow(
            (start + timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            day,
            "eolien",
            100.0,
            None,
            LOADED_AT,
            NATURE,
        )
        for i in range(46)
    ]
    conn = ondemand.connect_readonly(make_gold(tmp_path / "g.sqlite", rows))
    (item,) = json.loads(ondemand.daily_range_body(conn, REGION, day, day))["items"]
    conn.close()
    assert item["energy_mwh"]["eolien"] == 100.0 * 46 * 0.5
    assert item["energy_mwh"]["nucleaire"] is None
    assert item["consumption_mwh"] is None


def test_csv_has_bom_semicolons_and_decimal_comma(gold_conn) -> None:
    conn, _ = gold_conn
    text = ondemand.day_csv(conn, REGION, "2024-10-27").decode("utf-8")
    lines = text.lstrip("\ufeff").splitlines()
    assert text.startswith("\ufeff")
    assert len(lines) == 1 + 50
    assert lines[0].split(";")[0] == "horodatage"
    assert any("," in cell for cell in lines[1].split(";")[1:])
