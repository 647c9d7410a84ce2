"""Load éCO2mix files into the embedded Gold DB (`python -m devhost gold import <files...>`).

Each file is parsed completely first (localdev.eco2mix_files) and written in one transaction, so a malformed
file loads nothing. Facts are upserted: an identical value leaves the row (and its loaded_at) alone; a
different value, load factor or nature replaces it and bumps loaded_at, which drives the materializer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from localdev.eco2mix_files import Eco2mixFormatError, ParsedFile, half_hour_start, parse_eco2mix
from localdev.gold_schema import SOURCE_IDS, create_schema, format_loaded_at, insert_time_rows, region_id

__all__ = ["Eco2mixFormatError", "ImportReport", "import_files", "write_parsed"]


@dataclass(frozen=True, slots=True)
class ImportReport:
    file: str
    format: str  # "odre_csv" | "rte_regional" ("" when the file could not be read)
    region_codes: tuple[str, ...]
    rows_read: int  # data lines of the file
    facts_written: int  # new facts inserted
    facts_updated: int  # existing facts whose value, load factor or nature changed
    facts_unchanged: int  # facts already present with the same content
    first_instant: str | None  # UTC start of the first half-hour imported, "YYYY-MM-DDTHH:MM:SSZ"
    last_instant: str | None
    rows_skipped: int = 0  # forecasts, nonexistent spring-DST times, repeated identical rows
    half_hours_incomplete: int = 0  # 15-min files: half-hours lacking a quarter-hour
    loaded_at: str | None = None  # the loaded_at given to written/updated facts
    error: str | None = None  # only with keep_going=True

    @property
    def region_code(self) -> str | None:
        return self.region_codes[0] if len(self.region_codes) == 1 else None


_STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS stage_fact (
    id_region INTEGER NOT NULL, id_date INTEGER NOT NULL, id_source INTEGER NOT NULL,
    valeur_mw REAL, facteur_charge REAL, nature TEXT NOT NULL,
    PRIMARY KEY (id_region, id_date, id_source)
) WITHOUT ROWID
"""
_UPDATE_CHANGED_SQL = (
    "UPDATE FACT_ENERGY_FLOW AS f SET valeur_mw = s.valeur_mw, facteur_charge = s.facteur_charge, "
    "nature = s.nature, loaded_at = ? FROM stage_fact AS s "
    "WHERE f.id_region = s.id_region AND f.id_date = s.id_date AND f.id_source = s.id_source "
    "AND (f.valeur_mw IS NOT s.valeur_mw OR f.facteur_charge IS NOT s.facteur_charge OR f.nature IS NOT s.nature)"
)
_INSERT_NEW_SQL = (
    "INSERT INTO FACT_ENERGY_FLOW (id_region, id_date, id_source, valeur_mw, facteur_charge, nature, loaded_at) "
    "SELECT s.id_region, s.id_date, s.id_source, s.valeur_mw, s.facteur_charge, s.nature, ? FROM stage_fact AS s "
    "WHERE NOT EXISTS (SELECT 1 FROM FACT_ENERGY_FLOW AS f "
    "WHERE f.id_region = s.id_region AND f.id_date = s.id_date AND f.id_source = s.id_source)"
)


def _open(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=60, isolation_level=None)  # explicit BEGIN/COMMIT below
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses at most the last file, never corrupts
    create_schema(conn)
    return conn


def write_parsed(
    conn: sqlite3.Connection, parsed: ParsedFile, clock: Callable[[], datetime]
) -> tuple[int, int, int, str]:
    """Upsert the facts of one parsed file in one transaction; (inserted, updated, unchanged, loaded_at).

    `loaded_at` is chosen inside the write transaction (BEGIN IMMEDIATE holds the database's write lock),
    after every earlier import committed: imports commit in loaded_at order, so a materializer that saw a
    watermark W never misses a fact committed later with a loaded_at at or below W.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        loaded_at = _next_loaded_at(conn, clock())
        conn.execute(_STAGE_SQL)
        conn.execute("DELETE FROM stage_fact")
        insert_time_rows(conn, (f.minute for f in parsed.facts))
        conn.executemany(
            "INSERT INTO stage_fact VALUES (?, ?, ?, ?, ?, ?)",
            (
                (region_id(f.region_code), f.minute, SOURCE_IDS[f.source], f.valeur_mw, f.facteur_charge, f.nature)
                for f in parsed.facts
            ),
        )
        updated = conn.execute(_UPDATE_CHANGED_SQL, (loaded_at,)).rowcount
        inserted = conn.execute(_INSERT_NEW_SQL, (loaded_at,)).rowcount
        conn.execute("DELETE FROM stage_fact")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return inserted, updated, len(parsed.facts) - inserted - updated, loaded_at


def _next_loaded_at(conn: sqlite3.Connection, now: datetime) -> str:
    """`now`, or just after the newest loaded_at when the clock lags: a change must pass any watermark."""
    latest = conn.execute("SELECT MAX(loaded_at) FROM FACT_ENERGY_FLOW").fetchone()[0]
    if latest is not None:
        floor = datetime.strptime(latest, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) + timedelta(microseconds=1)
        now = max(now, floor)
    return format_loaded_at(now)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def import_files(
    db_path: Path,
    paths: list[Path],
    *,
    keep_going: bool = False,
    clock: Callable[[], datetime] = _utc_now,
) -> list[ImportReport]:
    """Import éCO2mix files into the Gold DB at `db_path` (created with its schema if absent), in order.

    A file that cannot be read raises Eco2mixFormatError (NationalFileError for national files) and loads
    nothing; files before it stay imported. With keep_going=True the error is put in that file's report
    and the next file is imported.
    """
    reports: list[ImportReport] = []
    conn = _open(db_path)
    try:
        for path in paths:
            try:
                parsed = parse_eco2mix(str(path), path.read_bytes())
            except (Eco2mixFormatError, OSError) as exc:
                if not keep_going:
                    raise
                reports.append(ImportReport(str(path), "", (), 0, 0, 0, 0, None, None, error=str(exc)))
                continue
            inserted, updated, unchanged, loaded_at = write_parsed(conn, parsed, clock)
            minutes = [f.minute for f in parsed.facts]
            reports.append(
                ImportReport(
                    file=str(path),
                    format=parsed.format,
                    region_codes=parsed.region_codes,
                    rows_read=parsed.rows_read,
                    facts_written=inserted,
                    facts_updated=updated,
                    facts_unchanged=unchanged,
                    first_instant=f"{half_hour_start(min(minutes)):%Y-%m-%dT%H:%M:%SZ}" if minutes else None,
                    last_instant=f"{half_hour_start(max(minutes)):%Y-%m-%dT%H:%M:%SZ}" if minutes else None,
                    rows_skipped=parsed.rows_skipped,
                    half_hours_incomplete=parsed.half_hours_incomplete,
                    loaded_at=loaded_at if inserted or updated else None,
                )
            )
    finally:
        conn.close()
    return reports
