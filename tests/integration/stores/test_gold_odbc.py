"""GoldReader through pyodbc and the real SQLite ODBC driver gives what it gives through sqlite3.

Same SQL text, another driver: this is the path Azure SQL takes (pyodbc, qmark). Skips cleanly when pyodbc
or the `SQLite3` ODBC driver (Debian `unixodbc libsqliteodbc`) is not installed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from stores.errors import StoreUnavailable
from stores.gold import GoldReader, gold_connection_factory, gold_dialect, gold_reader
from tests.unit.stores.test_gold import L1, SMALL_GOLD, build_small_gold

pytestmark = pytest.mark.integration
DRIVER = "SQLite3"


def _odbc_settings(path: Path) -> Settings:
    try:
        import pyodbc
    except ImportError as exc:  # libodbc.so missing also lands here
        pytest.skip(f"pyodbc unavailable: {exc}")
    if DRIVER not in pyodbc.drivers():
        pytest.skip(f"ODBC driver {DRIVER!r} not installed (apt-get install unixodbc libsqliteodbc)")
    return Settings(GOLD_ODBC_CONNECTION_STRING=f"Driver={DRIVER};Database={path}")


@pytest.fixture
def readers(tmp_path: Path) -> tuple[GoldReader, GoldReader]:
    path = build_small_gold(tmp_path / "gold.sqlite", SMALL_GOLD)
    odbc_settings = _odbc_settings(path)
    assert gold_dialect(odbc_settings) == "sqlite"
    return gold_reader(Settings(GOLD_SQLITE_PATH=path)), gold_reader(odbc_settings)


QUERIES: list[tuple[str, Callable[[GoldReader], Any]]] = [
    ("changed_all", lambda r: r.changed_partitions(None)),
    ("changed_since", lambda r: r.changed_partitions(L1)),
    ("range", lambda r: r.partitions_in_range("2024-03-30", "2024-10-27", None)),
    ("range_regions", lambda r: r.partitions_in_range("2024-01-01", "2024-12-31", ["84", "93"])),
    ("rows_spring", lambda r: r.region_rows("11", "2024-03-31", "2024-03-31")),
    ("rows_autumn", lambda r: r.region_rows("84", "2024-10-27", "2024-10-27")),
    ("columns_autumn", lambda r: r.region_columns("84", "2024-10-27", "2024-10-27").as_lists()),
    ("max_loaded_at", lambda r: r.max_loaded_at()),
    ("regions", lambda r: r.regions()),
]


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[q[0] for q in QUERIES])
def test_odbc_and_sqlite3_readers_agree(
    readers: tuple[GoldReader, GoldReader], name: str, query: Callable[[GoldReader], Any]
) -> None:
    native, odbc = readers
    expected = query(native)
    assert expected  # a query that returns nothing would prove nothing
    assert query(odbc) == expected


def test_odbc_connection_is_opened_only_when_called(tmp_path: Path) -> None:
    path = build_small_gold(tmp_path / "gold.sqlite", SMALL_GOLD)
    connect = gold_connection_factory(_odbc_settings(path))
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM FACT_ENERGY_FLOW WHERE id_region = ?", (84,))
        assert cur.fetchall()[0][0] == 3
    finally:
        conn.close()
    gold_reader(_odbc_settings(path)).ping()


def test_odbc_lock_wait_is_bounded_by_the_gold_query_timeout(tmp_path: Path) -> None:
    # The SQLite ODBC driver ignores the statement timeout: the reader puts it in the string as Timeout (ms).
    path = build_small_gold(tmp_path / "gold.sqlite", SMALL_GOLD)
    settings = _odbc_settings(path).model_copy(update={"GOLD_QUERY_TIMEOUT_SECONDS": 1})
    reader = gold_reader(settings)
    reader.ping()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable):
            reader.regions()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert len(reader.regions()) == 12
