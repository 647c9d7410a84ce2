"""The on-demand baseline: what a naive API would do per request, a star join over Gold plus pandas.

Used only by the benchmark (never exposed in the API), to compare with the precomputed documents. It computes
the same aggregates as the materialized documents, by the rules of domain.aggregate: the calendar's half-hours
(46/48/50), hourly means only where both half-hours are present, energy = MW × 0.5 h over the present
half-hours, production = Σ production sources present, carbon intensity from domain.carbon; missing stays
missing (None). Each function returns the body it would serve, so serialization is part of the measured cost.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domain.aggregate import day_instants
from domain.carbon import carbon_terms, intensity
from domain.local_time import TIMEZONE
from domain.regions import REGIONS_BY_CODE
from domain.sources import BALANCE_SOURCES, CONSUMPTION, PRODUCTION_SOURCES

HALF_HOUR_H = 0.5  # Gold holds 30-minute mean powers: energy of one interval = MW × 0.5 h
DECIMALS = 3
SERIES_SOURCES = (*PRODUCTION_SOURCES, *BALANCE_SOURCES)
MW_COLUMNS = [*SERIES_SOURCES, CONSUMPTION]
LOAD_COLUMNS = list(PRODUCTION_SOURCES)

# CROSS JOIN fixes SQLite's join order to region → days (IX_TIME_date_locale) → facts (primary key). Without
# statistics (no ANALYZE on Gold) the planner otherwise scans every fact of the region and filters the days,
# which grows with the history kept; the baseline should be the best plan, not a strawman.
STAR_JOIN = """
SELECT t.horodatage, s.source_name, f.valeur_mw, f.facteur_charge
FROM DIM_REGION AS r
CROSS JOIN DIM_TIME AS t
CROSS JOIN FACT_ENERGY_FLOW AS f
CROSS JOIN DIM_SOURCE AS s
WHERE r.code_insee = ? AND t.date_locale BETWEEN ? AND ?
  AND f.id_region = r.id_region AND f.id_date = t.id_date AND s.id_source = f.id_source
"""


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    """A read-only connection: the baseline never writes to Gold."""
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)


def _calendar(first_day: str, last_day: str) -> pd.DatetimeIndex:
    """UTC starts of every half-hour of the local days [first_day, last_day]."""
    first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    parts = [day_instants(d) for d in days]
    return parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]


def fetch_wide(
    conn: sqlite3.Connection, region_code: str, first_day: str, last_day: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The star join for one region and local days, as (MW, TCH) frames: calendar half-hours × sources."""
    rows = conn.execute(STAR_JOIN, (region_code, first_day, last_day)).fetchall()
    facts = pd.DataFrame(rows, columns=["horodatage", "source_name", "valeur_mw", "facteur_charge"])
    facts["instant"] = pd.to_datetime(facts["horodatage"], format="ISO8601", utc=True)
    index = _calendar(first_day, last_day)
    mw = facts.pivot_table(index="instant", columns="source_name", values="valeur_mw", aggfunc="mean", dropna=False)
    tch = facts.pivot_table(
        index="instant", columns="source_name", values="facteur_charge", aggfunc="mean", dropna=False
    )
    return (
        mw.reindex(index=index, columns=MW_COLUMNS).astype("float64"),
        tch.reindex(index=index, columns=LOAD_COLUMNS).astype("float64"),
    )


def _clean(values: np.ndarray) -> list[Any]:
    """Rounded floats, None for NaN (JSON null): missing stays missing."""
    rounded = np.round(values.astype("float64"), DECIMALS) + 0.0
    return (
        [None if v != v else v for v in rounded.tolist()]
        if rounded.ndim == 1
        else [[None if v != v else v for v in row] for row in rounded.tolist()]
    )


def _local_iso(index: pd.Index) -> list[str]:
    return [ts.isoformat() for ts in pd.DatetimeIndex(index).tz_convert(TIMEZONE)]


def power_records(mw: pd.DataFrame, tch: pd.DataFrame) -> list[dict[str, Any]]:
    """Per row (instant or hour): the Interval fields of the documents."""
    production = mw[list(PRODUCTION_SOURCES)].sum(axis=1, min_count=1)
    weighted, basis = carbon_terms(mw[list(PRODUCTION_SOURCES)])
    sources, loads = _clean(mw[list(SERIES_SOURCES)].to_numpy()), _clean(tch.to_numpy())
    prod, cons = _clean(production.to_numpy()), _clean(mw[CONSUMPTION].to_numpy())
    ci = _clean(intensity(weighted, basis).to_numpy())
    return [
        {
            "timestamp": ts,
            "production_mw": prod[i],
            "consumption_mw": cons[i],
            "sources": dict(zip(SERIES_SOURCES, sources[i], strict=True)),
            "facteur_charge": dict(zip(LOAD_COLUMNS, loads[i], strict=True)),
            "carbon_intensity_g_per_kwh": ci[i],
        }
        for i, ts in enumerate(_local_iso(mw.index))
    ]


def hourly(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of each local hour where both half-hours are present (Paris offsets are whole hours)."""
    hours = pd.DatetimeIndex(frame.index).floor("h")
    grouped = frame.groupby(hours)
    return grouped.mean().where(grouped.count() == 2)


def daily_totals(mw: pd.DataFrame) -> list[dict[str, Any]]:
    """Per local day: energy MWh by source, production/consumption MWh, energy-weighted carbon intensity."""
    days = pd.DatetimeIndex(mw.index).tz_convert(TIMEZONE).strftime("%Y-%m-%d")
    energy = (mw * HALF_HOUR_H).groupby(days).sum(min_count=1)
    production = mw[list(PRODUCTION_SOURCES)].sum(axis=1, min_count=1)
    weighted, basis = carbon_terms(mw[list(PRODUCTION_SOURCES)])
    sums = pd.DataFrame({"production": production, "weighted": weighted, "basis": basis}) * HALF_HOUR_H
    per_day = sums.groupby(days).sum(min_count=1)
    by_source = _clean(energy[list(SERIES_SOURCES)].to_numpy())
    prod, cons = _clean(per_day["production"].to_numpy()), _clean(energy[CONSUMPTION].to_numpy())
    ci = _clean(intensity(per_day["weighted"], per_day["basis"]).to_numpy())
    return [
        {
            "date": day,
            "energy_mwh": dict(zip(SERIES_SOURCES, by_source[i], strict=True)),
            "production_mwh": prod[i],
            "consumption_mwh": cons[i],
            "carbon_intensity_g_per_kwh": ci[i],
        }
        for i, day in enumerate(energy.index)
    ]


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def day_body(conn: sqlite3.Connection, region_code: str, day: str) -> bytes:
    """Shape (a), one region-day: half-hourly intervals, hourly means and the day's totals."""
    mw, tch = fetch_wide(conn, region_code, day, day)
    totals = daily_totals(mw)
    return _json(
        {
            "region_code": region_code,
            "region_name": REGIONS_BY_CODE[region_code].name,
            "date": day,
            "interval_count": len(mw.index),
            "intervals": power_records(mw, tch),
            "hourly": power_records(hourly(mw), hourly(tch)),
            "totals": totals[0] if totals else None,
        }
    )


def hourly_range_body(conn: sqlite3.Connection, region_code: str, first_day: str, last_day: str) -> bytes:
    """Shape (b): hourly means over local days [first_day, last_day]."""
    mw, tch = fetch_wide(conn, region_code, first_day, last_day)
    return _json({"region_code": region_code, "items": power_records(hourly(mw), hourly(tch))})


def daily_range_body(conn: sqlite3.Connection, region_code: str, first_day: str, last_day: str) -> bytes:
    """Shape (c): daily energy (MWh) over local days [first_day, last_day]."""
    mw, _ = fetch_wide(conn, region_code, first_day, last_day)
    return _json({"region_code": region_code, "items": daily_totals(mw)})


def day_csv(conn: sqlite3.Connection, region_code: str, day: str) -> bytes:
    """Shape (d): the day's CSV rendered on request (UTF-8 BOM, `;`, decimal comma), instead of a redirect."""
    mw, _ = fetch_wide(conn, region_code, day, day)
    mw.index = pd.Index(_local_iso(mw.index), name="horodatage")
    text: str = mw.round(DECIMALS).to_csv(sep=";", decimal=",", na_rep="")
    return "\ufeff".encode() + text.encode()
