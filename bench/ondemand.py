"""The on-demand baseline: what a naive API would do per request, a star join over Gold plus pandas.

Used only by the benchmark (never exposed in the API), to compare with the precomputed documents. It
computes the same aggregates as the materialized documents: half-hourly values, hourly means, daily energy
(MW × 0.5 h), production sums and carbon intensity (domain.carbon), with missing values kept missing.
Every function returns the JSON body it would serve, so serialization is part of the measured cost.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from domain.carbon import carbon_terms, intensity
from domain.models import TIMEZONE
from domain.regions import REGIONS_BY_CODE
from domain.sources import CONSUMPTION, PRODUCTION_SOURCES

HALF_HOUR_H = 0.5  # Gold holds 30-minute mean powers: energy of one interval = MW × 0.5 h

STAR_JOIN = """
SELECT t.horodatage AS horodatage, t.date_locale AS date_locale, s.source_name AS source_name,
       f.valeur_mw AS valeur_mw, f.facteur_charge AS facteur_charge
FROM FACT_ENERGY_FLOW AS f
JOIN DIM_REGION AS r ON r.id_region = f.id_region
JOIN DIM_TIME AS t ON t.id_date = f.id_date
JOIN DIM_SOURCE AS s ON s.id_source = f.id_source
WHERE r.code_insee = ? AND t.date_locale BETWEEN ? AND ?
"""


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    """A read-only connection: the baseline never writes to Gold."""
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)


def fetch_facts(conn: sqlite3.Connection, region_code: str, first_day: str, last_day: str) -> pd.DataFrame:
    """The star join for one region and local days [first_day, last_day], one row per (instant, source)."""
    rows = conn.execute(STAR_JOIN, (region_code, first_day, last_day)).fetchall()
    frame = pd.DataFrame(rows, columns=["horodatage", "date_locale", "source_name", "valeur_mw", "facteur_charge"])
    frame["valeur_mw"] = frame["valeur_mw"].astype("float64")
    frame["facteur_charge"] = frame["facteur_charge"].astype("float64")
    frame["instant"] = pd.to_datetime(frame["horodatage"], utc=True)
    return frame


def _wide(facts: pd.DataFrame, column: str) -> pd.DataFrame:
    """Instants × sources of one value column (NaN = missing), instants in time order."""
    if facts.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
    return facts.pivot(index="instant", columns="source_name", values=column).sort_index()


def _production_sources(wide: pd.DataFrame) -> list[str]:
    return [s for s in PRODUCTION_SOURCES if s in wide.columns]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number, 3)


def _local_iso(instants: pd.Index) -> list[str]:
    local = pd.DatetimeIndex(instants).tz_convert(TIMEZONE)
    return [ts.isoformat() for ts in local]


def _power_records(wide: pd.DataFrame, load: pd.DataFrame) -> list[dict[str, Any]]:
    """Per row of `wide` (MW by source): the Interval fields of the documents."""
    production = _production_sources(wide)
    prod_mw = wide[production].sum(axis=1, min_count=1) if production else pd.Series(float("nan"), index=wide.index)
    consumption = wide[CONSUMPTION] if CONSUMPTION in wide.columns else pd.Series(float("nan"), index=wide.index)
    weighted, basis = carbon_terms(wide)
    ci = intensity(weighted, basis)
    sources = [c for c in wide.columns if c != CONSUMPTION]
    load_sources = [c for c in load.columns if c in PRODUCTION_SOURCES]
    records = []
    for i, timestamp in enumerate(_local_iso(wide.index)):
        records.append(
            {
                "timestamp": timestamp,
                "production_mw": _num(prod_mw.iloc[i]),
                "consumption_mw": _num(consumption.iloc[i]),
                "sources": {s: _num(wide[s].iloc[i]) for s in sources},
                "facteur_charge": {s: _num(load[s].iloc[i]) for s in load_sources},
                "carbon_intensity_g_per_kwh": _num(ci.iloc[i]),
            }
        )
    return records


def _hourly(wide: pd.DataFrame) -> pd.DataFrame:
    """Mean power of each local hour over the half-hours present (Paris offsets are whole hours)."""
    return wide.groupby(wide.index.floor("h")).mean()


def _daily_totals(mw: pd.DataFrame) -> pd.DataFrame:
    """Per local day: energy MWh by source, production/consumption MWh and energy-weighted carbon intensity."""
    energy = mw * HALF_HOUR_H
    days = pd.DatetimeIndex(mw.index).tz_convert(TIMEZONE).strftime("%Y-%m-%d")
    by_day = energy.groupby(days).sum(min_count=1)
    production = _production_sources(mw)
    totals = pd.DataFrame(index=by_day.index)
    totals["production_mwh"] = by_day[production].sum(axis=1, min_count=1) if production else float("nan")
    totals["consumption_mwh"] = by_day[CONSUMPTION] if CONSUMPTION in by_day.columns else float("nan")
    weighted, basis = carbon_terms(mw)
    weighted_day = (weighted * HALF_HOUR_H).groupby(days).sum(min_count=1)
    basis_day = (basis * HALF_HOUR_H).groupby(days).sum(min_count=1)
    totals["carbon_intensity_g_per_kwh"] = intensity(weighted_day, basis_day)
    return by_day.join(totals, rsuffix="_total")


def day_body(conn: sqlite3.Connection, region_code: str, day: str) -> bytes:
    """Shape (a), one region-day: half-hourly intervals, hourly means and the day's totals."""
    facts = fetch_facts(conn, region_code, day, day)
    wide, load = _wide(facts, "valeur_mw"), _wide(facts, "facteur_charge")
    totals = _daily_totals(wide)
    body = {
        "region_code": region_code,
        "region_name": REGIONS_BY_CODE[region_code].name,
        "date": day,
        "interval_count": len(wide.index),
        "intervals": _power_records(wide, load),
        "hourly": _power_records(_hourly(wide), _hourly(load)),
        "totals": _day_records(totals)[0] if len(totals) else None,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def hourly_range_body(conn: sqlite3.Connection, region_code: str, first_day: str, last_day: str) -> bytes:
    """Shape (b): hourly means over local days [first_day, last_day]."""
    facts = fetch_facts(conn, region_code, first_day, last_day)
    wide, load = _wide(facts, "valeur_mw"), _wide(facts, "facteur_charge")
    items = _power_records(_hourly(wide), _hourly(load))
    return json.dumps({"region_code": region_code, "items": items}, separators=(",", ":")).encode()


def _day_records(totals: pd.DataFrame) -> list[dict[str, Any]]:
    derived = ("production_mwh", "consumption_mwh", "carbon_intensity_g_per_kwh")
    sources = [c for c in totals.columns if c not in derived]
    return [
        {
            "date": day,
            "energy_mwh": {s: _num(row[s]) for s in sources if s != CONSUMPTION},
            "production_mwh": _num(row["production_mwh"]),
            "consumption_mwh": _num(row["consumption_mwh"]),
            "carbon_intensity_g_per_kwh": _num(row["carbon_intensity_g_per_kwh"]),
        }
        for day, row in totals.iterrows()
    ]


def daily_range_body(conn: sqlite3.Connection, region_code: str, first_day: str, last_day: str) -> bytes:
    """Shape (c): daily energy (MWh) over local days [first_day, last_day]."""
    facts = fetch_facts(conn, region_code, first_day, last_day)
    items = _day_records(_daily_totals(_wide(facts, "valeur_mw")))
    return json.dumps({"region_code": region_code, "items": items}, separators=(",", ":")).encode()


def day_csv(conn: sqlite3.Connection, region_code: str, day: str) -> bytes:
    """Shape (d): the day's CSV rendered on request (UTF-8 BOM, `;`, decimal comma), instead of a redirect."""
    facts = fetch_facts(conn, region_code, day, day)
    wide = _wide(facts, "valeur_mw")
    wide.index = pd.Index(_local_iso(wide.index), name="horodatage")
    text: str = wide.to_csv(sep=";", decimal=",", na_rep="")
    return "\ufeff".encode() + text.encode()
