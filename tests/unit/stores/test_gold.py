"""GoldReader over sqlite3 on a small Gold DB that straddles both DST changes, and the connection factory."""

from __future__ import annotations

import sqlite3
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import Settings
from domain.gold_columns import GoldColumns
from domain.models import GoldRow
from domain.regions import REGIONS
from localdev.gold_schema import SOURCE_IDS, create_schema, insert_time_rows, region_id
from stores.errors import StoreUnavailable
from stores.gold import (
    _CHANGED_SINCE_SQL,
    GoldReader,
    _access_token_struct,
    azure_sql_connection_string,
    gold_connection_factory,
    gold_dialect,
    gold_reader,
    local_day_bounds,
)

L1 = "2025-01-01T00:00:00.000000Z"
L2 = "2025-02-01T12:00:00.123456Z"
DEF = "Données définitives"

# (region, UTC instant, source, MW, load factor, nature, loaded_at): one fact of a small Gold DB.
Fact = tuple[str, str, str, float | None, float | None, str, str]

# A spring day in Île-de-France and an autumn day in Auvergne-Rhône-Alpes, with rows just outside the local
# days to catch UTC/local mix-ups.
SMALL_GOLD: list[Fact] = [
    ("11", "2024-03-30T22:30:00Z", "consommation", 9000.0, None, DEF, L1),  # local 03-30 23:30
    ("11", "2024-03-30T23:00:00Z", "consommation", 8900.0, None, DEF, L1),  # local 03-31 00:00
    ("11", "2024-03-30T23:00:00Z", "eolien", 12.0, 9.5, DEF, L1),
    ("11", "2024-03-31T00:30:00Z", "consommation", None, None, DEF, L1),  # 01:30 +01:00, ND: null
    ("11", "2024-03-31T00:30:00Z", "eolien", 14.0, 11.0, DEF, L1),
    ("11", "2024-03-31T01:00:00Z", "consommation", 8500.0, None, DEF, L1),  # 03:00 +02:00
    ("11", "2024-03-31T21:30:00Z", "consommation", 8700.0, None, DEF, L1),  # local 03-31 23:30
    ("11", "2024-03-31T22:00:00Z", "consommation", 8600.0, None, DEF, L1),  # local 04-01 00:00
    ("84", "2024-10-26T22:00:00Z", "nucleaire", 10000.0, 73.5, DEF, L1),  # local 10-27 00:00
    ("84", "2024-10-27T00:00:00Z", "nucleaire", 10100.0, 74.2, DEF, L1),  # 02:00 +02:00
    ("84", "2024-10-27T01:00:00Z", "nucleaire", 10200.0, 75.0, "Données consolidées", L2),  # 02:00 +01:00
]


def minute_of(iso_utc: str) -> int:
    return int(datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).timestamp()) // 60


def build_small_gold(path: Path, facts: list[Fact]) -> Path:
    """The one factory of small Gold DBs for reader tests (sqlite3 here, pyodbc in the integration tests)."""
    conn = sqlite3.connect(path)
    create_schema(conn)
    insert_time_rows(conn, [minute_of(f[1]) for f in facts])
    conn.executemany(
        "INSERT INTO FACT_ENERGY_FLOW VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(region_id(r), minute_of(t), SOURCE_IDS[s], v, fc, n, la) for r, t, s, v, fc, n, la in facts],
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def small_gold(tmp_path: Path) -> Path:
    return build_small_gold(tmp_path / "gold.sqlite", SMALL_GOLD)


@pytest.fixture
def reader(small_gold: Path) -> GoldReader:
    return gold_reader(Settings(GOLD_SQLITE_PATH=small_gold))


def test_changed_partitions_groups_by_region_and_paris_day_with_max_loaded_at(reader: GoldReader) -> None:
    assert reader.changed_partitions(None) == [
        ("11", "2024-03-30", L1),
        ("11", "2024-03-31", L1),
        ("11", "2024-04-01", L1),
        ("84", "2024-10-27", L2),
    ]


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2024-12-31T23:59:59.999999Z", 4),
        (L1, 1),  # strictly after: the watermark itself is already done
        (L2, 0),
    ],
)
def test_changed_partitions_since_a_watermark(reader: GoldReader, since: str, expected: int) -> None:
    changed = reader.changed_partitions(since)
    assert len(changed) == expected
    assert all(p[2] > since for p in changed)


@pytest.mark.parametrize(
    ("first", "last", "regions", "expected"),
    [
        ("2024-03-31", "2024-03-31", None, [("11", "2024-03-31", L1)]),
        ("2024-01-01", "2024-12-31", ["84"], [("84", "2024-10-27", L2)]),
        ("2024-03-30", "2024-10-27", ["11", "84"], 4),
        ("2024-01-01", "2024-12-31", [], []),
        ("2023-01-01", "2023-12-31", None, []),
    ],
)
def test_partitions_in_range(
    reader: GoldReader, first: str, last: str, regions: list[str] | None, expected: list[tuple[str, str, str]] | int
) -> None:
    result = reader.partitions_in_range(first, last, regions)
    if isinstance(expected, int):
        assert len(result) == expected
    else:
        assert result == expected


def test_region_rows_are_the_local_day_rows_ordered_by_instant_then_source(reader: GoldReader) -> None:
    rows = reader.region_rows("11", "2024-03-31", "2024-03-31")
    assert rows == [
        GoldRow("2024-03-30T23:00:00Z", "2024-03-31", "eolien", 12.0, 9.5, L1, DEF),
        GoldRow("2024-03-30T23:00:00Z", "2024-03-31", "consommation", 8900.0, None, L1, DEF),
        GoldRow("2024-03-31T00:30:00Z", "2024-03-31", "eolien", 14.0, 11.0, L1, DEF),
        GoldRow("2024-03-31T00:30:00Z", "2024-03-31", "consommation", None, None, L1, DEF),
        GoldRow("2024-03-31T01:00:00Z", "2024-03-31", "consommation", 8500.0, None, L1, DEF),
        GoldRow("2024-03-31T21:30:00Z", "2024-03-31", "consommation", 8700.0, None, L1, DEF),
    ]


def test_region_rows_keep_both_occurrences_of_the_repeated_autumn_hour(reader: GoldReader) -> None:
    rows = reader.region_rows("84", "2024-10-27", "2024-10-27")
    assert [r.horodatage_utc for r in rows] == ["2024-10-26T22:00:00Z", "2024-10-27T00:00:00Z", "2024-10-27T01:00:00Z"]
    assert rows[-1].nature == "Données consolidées"
    assert reader.region_rows("84", "2024-10-28", "2024-12-31") == []
    assert reader.region_rows("99", "2024-01-01", "2024-12-31") == []


def test_max_loaded_at_regions_and_ping(reader: GoldReader, tmp_path: Path) -> None:
    assert reader.max_loaded_at() == L2
    assert reader.regions() == sorted((r.code, r.name) for r in REGIONS)
    reader.ping()
    empty = gold_reader(Settings(GOLD_SQLITE_PATH=build_small_gold(tmp_path / "empty.sqlite", [])))
    assert empty.max_loaded_at() is None
    assert empty.changed_partitions(None) == []


def test_a_missing_database_is_an_error_not_a_new_empty_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.sqlite"
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=missing))
    with pytest.raises(sqlite3.OperationalError):
        reader.ping()
    assert not missing.exists()


def test_reader_is_safe_from_a_thread_pool(reader: GoldReader) -> None:
    expected = reader.region_rows("11", "2024-03-30", "2024-04-01")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: reader.region_rows("11", "2024-03-30", "2024-04-01"), range(16)))
    assert all(r == expected for r in results)
    assert len(expected) == 8  # every region 11 fact


def test_a_failed_query_drops_the_connection_and_the_next_call_reconnects(small_gold: Path) -> None:
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(small_gold)
        opened.append(conn)
        return conn

    reader = GoldReader(connect)
    reader.ping()
    opened[0].close()  # the server went away
    reader.ping()  # retried on a fresh connection
    assert len(opened) == 2


def test_other_failures_drop_the_connection_without_a_retry(small_gold: Path) -> None:
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        opened.append(sqlite3.connect(small_gold))
        return opened[-1]

    reader = GoldReader(connect)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        reader._query("SELECT * FROM NOT_A_TABLE")
    reader.ping()
    assert len(opened) == 2


# Never ends on its own: only the query deadline stops it.
ENDLESS_QUERY = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n"


def test_a_query_past_the_gold_query_timeout_is_stopped_as_unavailable(small_gold: Path) -> None:
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=small_gold, GOLD_QUERY_TIMEOUT_SECONDS=1))
    with pytest.raises(StoreUnavailable) as raised:
        reader._query(ENDLESS_QUERY)
    assert raised.value.store == "gold"
    assert len(reader.regions()) == 12  # the next query runs under a fresh deadline


def test_a_lock_held_past_the_gold_query_timeout_is_unavailable_until_released(small_gold: Path) -> None:
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=small_gold, GOLD_QUERY_TIMEOUT_SECONDS=1))
    writer = sqlite3.connect(small_gold, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            reader.regions()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert len(reader.regions()) == 12


def test_other_gold_errors_are_not_called_unavailable(reader: GoldReader) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        reader._query("SELECT * FROM NOT_A_TABLE")


@pytest.mark.parametrize(
    ("first", "last", "start_utc", "end_utc"),
    [
        ("2024-03-31", "2024-03-31", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"),  # 23 h
        ("2024-10-27", "2024-10-27", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"),  # 25 h
        ("2024-01-01", "2024-12-31", "2023-12-31T23:00:00Z", "2024-12-31T23:00:00Z"),
    ],
)
def test_local_day_bounds_are_dst_aware(first: str, last: str, start_utc: str, end_utc: str) -> None:
    assert local_day_bounds(first, last) == (minute_of(start_utc), minute_of(end_utc))


@pytest.mark.parametrize(
    ("settings", "dialect"),
    [
        (Settings(), "sqlite"),
        (Settings(GOLD_ODBC_CONNECTION_STRING="Driver=SQLite3;Database=/tmp/x.sqlite"), "sqlite"),
        (Settings(GOLD_ODBC_CONNECTION_STRING="Driver={ODBC Driver 18 for SQL Server};Server=x;PWD=y"), "tsql"),
        (Settings(GOLD_SQL_SERVER="x.database.windows.net", GOLD_SQL_DATABASE="gold"), "tsql"),
    ],
)
def test_factories_open_nothing_until_called(settings: Settings, dialect: str) -> None:
    connect = gold_connection_factory(settings)
    assert callable(connect)
    assert gold_dialect(settings) == dialect


def test_sql_server_without_database_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="GOLD_SQL_DATABASE"):
        gold_connection_factory(Settings(GOLD_SQL_SERVER="x.database.windows.net"))


def test_access_token_struct_is_length_prefixed_utf16le() -> None:
    packed = _access_token_struct("eyJ0")
    (length,) = struct.unpack_from("<I", packed)
    assert length == 8
    assert packed[4:].decode("utf-16-le") == "eyJ0"


def test_azure_sql_connection_string_encrypts() -> None:
    text = azure_sql_connection_string("ODBC Driver 18 for SQL Server", "srv.database.windows.net", "gold")
    assert "Server=tcp:srv.database.windows.net,1433;" in text
    assert "Encrypt=yes;" in text and "Database=gold;" in text
    assert "PWD" not in text


def test_tsql_dialect_binds_the_watermark_as_a_datetime() -> None:
    seen: list[tuple[object, ...]] = []

    class Cursor:
        def execute(self, sql: str, params: tuple[object, ...] = ()) -> None:
            seen.append(params)

        def fetchall(self) -> list[tuple[object, ...]]:
            return [("11", datetime(2024, 3, 31).date(), datetime(2025, 1, 1, 0, 0, 0, 5))]

        def close(self) -> None:
            pass

    class Conn:
        def cursor(self) -> Cursor:
            return Cursor()

        def close(self) -> None:
            pass

    reader = GoldReader(Conn, dialect="tsql")
    assert reader.changed_partitions(L2) == [("11", "2024-03-31", "2025-01-01T00:00:00.000005Z")]
    assert seen == [(datetime(2025, 2, 1, 12, 0, 0, 123456),)]


def test_every_reader_query_is_valid_tsql_with_bound_parameters_only() -> None:
    import sqlglot

    executed: list[tuple[str, tuple[object, ...]]] = []

    class Cursor:
        def execute(self, sql: str, params: tuple[object, ...] = ()) -> None:
            executed.append((sql, params))

        def fetchall(self) -> list[tuple[object, ...]]:
            return []

        def close(self) -> None:
            pass

    class Conn:
        def cursor(self) -> Cursor:
            return Cursor()

        def close(self) -> None:
            pass

    reader = GoldReader(Conn, dialect="tsql")
    reader.changed_partitions(None)
    reader.changed_partitions(L1)
    reader.partitions_in_range("2024-01-01", "2024-01-31", None)
    reader.partitions_in_range("2024-01-01", "2024-01-31", ["11", "93'; DROP TABLE DIM_TIME; --"])
    reader.region_rows("11", "2024-01-01", "2024-01-31")
    reader.max_loaded_at()
    reader.ping()
    reader.regions()
    assert len(executed) == 8
    for sql, params in executed:
        sqlglot.parse_one(sql, read="tsql")  # raises on anything SQL Server would not parse
        assert sql.count("?") == len(params)
        assert "LIMIT" not in sql.upper() and "DROP" not in sql.upper()


@pytest.mark.parametrize(
    ("region", "first", "last"),
    [("11", "2024-03-31", "2024-03-31"), ("84", "2024-10-27", "2024-10-27"), ("11", "2024-01-01", "2024-12-31")],
)
def test_region_columns_hold_the_region_rows(reader: GoldReader, region: str, first: str, last: str) -> None:
    rows = reader.region_rows(region, first, last)
    assert rows  # an empty read would prove nothing
    assert reader.region_columns(region, first, last).as_lists() == GoldColumns.from_rows(rows).as_lists()


def test_region_columns_of_nothing_are_empty(reader: GoldReader) -> None:
    assert len(reader.region_columns("11", "2030-01-01", "2030-01-31")) == 0


# --- the column reader: the row reader's facts, by ids named from the dimensions ---------------------------


def test_column_reads_whose_first_rows_are_null_keep_their_values(tmp_path: Path) -> None:
    start = minute_of("2024-01-01T00:00:00Z")
    facts: list[Fact] = [
        (
            "11",
            f"{datetime.fromtimestamp((start + 30 * i) * 60, UTC):%Y-%m-%dT%H:%M:%SZ}",
            "consommation",
            None if i < 2500 else 100.0 + i,
            None,
            DEF,
            L1,
        )
        for i in range(3000)
    ]
    facts.append(("11", facts[-1][1], "eolien", 1.5, 12.25, DEF, L2))
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=build_small_gold(tmp_path / "gold.sqlite", facts)))
    rows = reader.region_rows("11", "2024-01-01", "2024-03-31")
    assert len(rows) == 3001
    lists = reader.region_columns("11", "2024-01-01", "2024-03-31").as_lists()
    assert lists == GoldColumns.from_rows(rows).as_lists()
    assert 12.25 in lists["facteur_charge"] and lists["valeur_mw"][0] is None and 2600.0 in lists["valeur_mw"]


def test_column_reads_leave_out_facts_without_a_dimension_row_as_the_joins_do(small_gold: Path) -> None:
    with sqlite3.connect(small_gold) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(  # a fact of an instant and one of a source the dimensions do not have
            "INSERT INTO FACT_ENERGY_FLOW VALUES (?, ?, ?, 1.0, NULL, ?, ?), (?, ?, ?, 2.0, NULL, ?, ?)",
            (
                *(region_id("11"), minute_of("2024-03-31T00:15:00Z"), SOURCE_IDS["eolien"], DEF, L1),
                *(region_id("11"), minute_of("2024-03-31T00:30:00Z"), 999, DEF, L1),
            ),
        )
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=small_gold))
    rows = reader.region_rows("11", "2024-03-30", "2024-04-01")
    assert len(rows) == 8
    assert reader.region_columns("11", "2024-03-30", "2024-04-01").as_lists() == GoldColumns.from_rows(rows).as_lists()


def test_changes_since_a_watermark_are_found_through_the_load_time_index(small_gold: Path) -> None:
    # Not a timing: the plan. Scanning every fact in key order instead grows with the whole history.
    with sqlite3.connect(small_gold) as conn:
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + _CHANGED_SINCE_SQL, [L1]))
    assert "USING COVERING INDEX IX_FACT_loaded_at" in plan and "SCAN FACT_ENERGY_FLOW" not in plan
