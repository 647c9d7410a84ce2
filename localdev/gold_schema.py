"""The embedded (SQLite) Gold schema, twin of infra/sql/gold_schema.sql, and its fixed dimensions.

Text conventions, chosen so that values sort as text and compare equal across drivers:
- DIM_TIME.horodatage is the UTC instant 'YYYY-MM-DDTHH:MM:SSZ'; id_date is minutes since the epoch (UTC).
- FACT_ENERGY_FLOW.loaded_at is 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

import numpy as np
import pandas as pd

from domain.local_time import TIMEZONE
from domain.regions import REGIONS
from domain.sources import ALL_SOURCES, BALANCE_SOURCES, CONSUMPTION, PRODUCTION_SOURCES

TABLES_SQL: Final[str] = """
CREATE TABLE IF NOT EXISTS DIM_REGION (
    id_region INTEGER NOT NULL PRIMARY KEY,
    code_insee TEXT NOT NULL UNIQUE,
    nom_region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS DIM_TIME (
    id_date INTEGER NOT NULL PRIMARY KEY,
    horodatage TEXT NOT NULL UNIQUE,
    date_locale TEXT NOT NULL,
    heure_locale TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS DIM_SOURCE (
    id_source INTEGER NOT NULL PRIMARY KEY,
    source_name TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL CHECK (category IN ('production', 'balance', 'consumption')),
    unit TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS FACT_ENERGY_FLOW (
    id_region INTEGER NOT NULL REFERENCES DIM_REGION (id_region),
    id_date INTEGER NOT NULL REFERENCES DIM_TIME (id_date),
    id_source INTEGER NOT NULL REFERENCES DIM_SOURCE (id_source),
    valeur_mw REAL NULL,
    facteur_charge REAL NULL,
    nature TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    PRIMARY KEY (id_region, id_date, id_source)
) WITHOUT ROWID;
"""

INDEXES_SQL: Final[str] = """
CREATE INDEX IF NOT EXISTS IX_FACT_region_date ON FACT_ENERGY_FLOW (id_region, id_date);
CREATE INDEX IF NOT EXISTS IX_FACT_loaded_at ON FACT_ENERGY_FLOW (loaded_at);
CREATE INDEX IF NOT EXISTS IX_TIME_date_locale ON DIM_TIME (date_locale);
"""

# Stable ids: the order of domain.sources.ALL_SOURCES, so ordering by id_source is the canonical order.
SOURCE_IDS: Final[dict[str, int]] = {name: i + 1 for i, name in enumerate(ALL_SOURCES)}


def source_category(name: str) -> str:
    if name in PRODUCTION_SOURCES:
        return "production"
    if name in BALANCE_SOURCES:
        return "balance"
    if name == CONSUMPTION:
        return "consumption"
    raise ValueError(f"unknown source {name!r}")


def region_id(code: str) -> int:
    """DIM_REGION.id_region: the INSEE code as an integer."""
    return int(code)


def create_schema(conn: sqlite3.Connection, *, with_indexes: bool = True) -> None:
    """Create the tables (idempotent) and fill the fixed dimensions; indexes may be added after a bulk load."""
    conn.executescript(TABLES_SQL)
    if with_indexes:
        conn.executescript(INDEXES_SQL)
    conn.executemany(
        "INSERT OR IGNORE INTO DIM_REGION (id_region, code_insee, nom_region) VALUES (?, ?, ?)",
        [(region_id(r.code), r.code, r.name) for r in REGIONS],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO DIM_SOURCE (id_source, source_name, category, unit) VALUES (?, ?, ?, 'MW')",
        [(i, name, source_category(name)) for name, i in SOURCE_IDS.items()],
    )
    conn.commit()


def create_indexes(conn: sqlite3.Connection) -> None:
    conn.executescript(INDEXES_SQL)


def time_rows(id_dates: Sequence[int] | np.ndarray) -> list[tuple[int, str, str, str, int]]:
    """DIM_TIME rows (id_date, horodatage, date_locale, heure_locale, utc_offset_minutes) for epoch minutes."""
    minutes = np.asarray(id_dates, dtype=np.int64)
    if minutes.size == 0:
        return []
    utc = pd.DatetimeIndex(pd.to_datetime(minutes, unit="m", utc=True))
    local = utc.tz_convert(TIMEZONE)
    # Offset = local wall clock minus UTC, in minutes (60 in winter, 120 in summer for Paris).
    wall = local.tz_localize(None)
    offsets = ((wall - utc.tz_localize(None)) // pd.Timedelta(minutes=1)).astype(np.int64)
    return list(
        zip(
            minutes.tolist(),
            utc.strftime("%Y-%m-%dT%H:%M:%SZ").tolist(),
            local.strftime("%Y-%m-%d").tolist(),
            local.strftime("%H:%M").tolist(),
            np.asarray(offsets).tolist(),
            strict=True,
        )
    )


def insert_time_rows(conn: sqlite3.Connection, id_dates: Iterable[int]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO DIM_TIME (id_date, horodatage, date_locale, heure_locale, utc_offset_minutes) "
        "VALUES (?, ?, ?, ?, ?)",
        time_rows(sorted(set(id_dates))),
    )


def format_loaded_at(moment: datetime) -> str:
    """loaded_at text: UTC with microseconds and a Z, so it sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
