"""The T-SQL schema (infra/sql/gold_schema.sql) and the embedded SQLite schema stay in step."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from domain.regions import REGIONS
from domain.sources import ALL_SOURCES
from localdev.gold_schema import SOURCE_IDS, create_schema, time_rows

TSQL_PATH = Path(__file__).resolve().parents[3] / "infra" / "sql" / "gold_schema.sql"
ROUGH_TYPES = {
    "INT": "integer",
    "SMALLINT": "integer",
    "BIGINT": "integer",
    "NVARCHAR": "text",
    "VARCHAR": "text",
    "DATE": "text",
    "DATETIME2": "text",
    "FLOAT": "real",
    "INTEGER": "integer",
    "TEXT": "text",
    "REAL": "real",
}

Column = tuple[str, str, bool]  # name, rough type, nullable


def tsql_schema() -> tuple[dict[str, list[Column]], dict[str, list[str]], dict[str, tuple[str, list[str]]]]:
    tables: dict[str, list[Column]] = {}
    primary_keys: dict[str, list[str]] = {}
    indexes: dict[str, tuple[str, list[str]]] = {}
    for statement in sqlglot.parse(TSQL_PATH.read_text(encoding="utf-8"), read="tsql"):
        if isinstance(statement, exp.Insert):
            continue  # seeds: see test_tsql_seeds_the_same_dimension_rows
        assert isinstance(statement, exp.Create)
        if statement.kind == "TABLE":
            schema = statement.this
            name = schema.this.name
            columns: list[Column] = []
            for item in schema.expressions:
                if isinstance(item, exp.ColumnDef):
                    kinds = [c.args["kind"] for c in item.args.get("constraints", [])]
                    not_null = any(
                        isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds
                    )
                    if any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds):
                        primary_keys[name] = [item.name]
                        not_null = True
                    columns.append((item.name, ROUGH_TYPES[item.args["kind"].this.name], not not_null))
                else:
                    pk = item.find(exp.PrimaryKey)
                    if pk is not None:
                        primary_keys[name] = [e.name for e in pk.expressions]
            tables[name] = columns
        elif statement.kind == "INDEX":
            index = statement.this
            columns_sql = [c.name for c in index.args["params"].args["columns"]]
            indexes[index.name] = (index.find(exp.Table).name, columns_sql)
    return tables, primary_keys, indexes


def sqlite_schema(
    conn: sqlite3.Connection,
) -> tuple[dict[str, list[Column]], dict[str, list[str]], dict[str, tuple[str, list[str]]]]:
    tables: dict[str, list[Column]] = {}
    primary_keys: dict[str, list[str]] = {}
    indexes: dict[str, tuple[str, list[str]]] = {}
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
    for table in names:
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        tables[table] = [(r[1], ROUGH_TYPES[r[2].upper()], not r[3] and not r[5]) for r in info]
        primary_keys[table] = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
            if index[3] == "c":  # created by CREATE INDEX, not by a PK/UNIQUE constraint
                cols = [r[2] for r in conn.execute(f"PRAGMA index_info({index[1]})").fetchall()]
                indexes[index[1]] = (table, cols)
    return tables, primary_keys, indexes


@pytest.fixture
def gold_conn(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "gold.sqlite")
    create_schema(conn)
    return conn


def test_tsql_and_sqlite_have_the_same_tables_columns_types_keys_and_indexes(gold_conn: sqlite3.Connection) -> None:
    t_tables, t_keys, t_indexes = tsql_schema()
    s_tables, s_keys, s_indexes = sqlite_schema(gold_conn)
    assert set(t_tables) == {"DIM_REGION", "DIM_TIME", "DIM_SOURCE", "FACT_ENERGY_FLOW"}
    assert s_tables == t_tables
    assert s_keys == t_keys
    assert s_indexes == t_indexes
    assert t_indexes["IX_FACT_region_date"] == ("FACT_ENERGY_FLOW", ["id_region", "id_date"])
    assert t_keys["FACT_ENERGY_FLOW"] == ["id_region", "id_date", "id_source"]


def test_schema_creation_is_idempotent_and_seeds_the_fixed_dimensions(gold_conn: sqlite3.Connection) -> None:
    create_schema(gold_conn)
    regions = gold_conn.execute("SELECT code_insee, nom_region FROM DIM_REGION ORDER BY code_insee").fetchall()
    assert regions == sorted((r.code, r.name) for r in REGIONS)
    sources = gold_conn.execute("SELECT source_name FROM DIM_SOURCE ORDER BY id_source").fetchall()
    assert [s for (s,) in sources] == list(ALL_SOURCES)
    assert SOURCE_IDS["consommation"] == len(ALL_SOURCES)


@pytest.mark.parametrize(
    ("iso_utc", "local_day", "local_time", "offset"),
    [
        ("2024-03-31T00:30:00Z", "2024-03-31", "01:30", 60),
        ("2024-03-31T01:00:00Z", "2024-03-31", "03:00", 120),
        ("2024-10-27T00:00:00Z", "2024-10-27", "02:00", 120),
        ("2024-10-27T01:00:00Z", "2024-10-27", "02:00", 60),
        ("2024-12-31T23:00:00Z", "2025-01-01", "00:00", 60),
    ],
)
def test_time_rows_carry_utc_instant_and_paris_day_time_offset(
    iso_utc: str, local_day: str, local_time: str, offset: int
) -> None:
    from datetime import datetime

    minute = int(datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).timestamp()) // 60
    assert time_rows([minute]) == [(minute, iso_utc, local_day, local_time, offset)]


def tsql_seeds() -> dict[str, list[tuple[object, ...]]]:
    seeds: dict[str, list[tuple[object, ...]]] = {}
    for statement in sqlglot.parse(TSQL_PATH.read_text(encoding="utf-8"), read="tsql"):
        if isinstance(statement, exp.Insert):
            table = statement.find(exp.Table)
            assert table is not None
            values = statement.expression
            seeds[table.name] = [
                tuple(int(v.this) if v.is_int else v.name for v in row.expressions) for row in values.expressions
            ]
    return seeds


def test_tsql_seeds_the_same_dimension_rows(gold_conn: sqlite3.Connection) -> None:
    seeds = tsql_seeds()
    assert seeds["DIM_REGION"] == gold_conn.execute("SELECT * FROM DIM_REGION ORDER BY rowid").fetchall()
    assert seeds["DIM_SOURCE"] == gold_conn.execute("SELECT * FROM DIM_SOURCE ORDER BY id_source").fetchall()
