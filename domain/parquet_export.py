"""Parquet files of day documents: one row per interval, typed columns, time-zone-aware timestamps.

For data scientists rather than spreadsheets: `timestamp` is the interval's start as a timestamp with time
zone Europe/Paris (the repeated 02:00 hour of the autumn DST day is two distinct instants), `date` the
local day, numbers are float64 with null for a missing value (never 0), and each row names its region
(code and name). Units are in the column names (`_mw`, `_pct`, `_g_per_kwh`) and in each field's metadata;
the file's metadata states the time zone, the interval length, the units and where the data comes from.
Files of the same schema concatenate (a year from its months, all regions from each region's file).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from domain.local_time import TIMEZONE
from domain.methodology import LICENCE
from domain.sources import BALANCE_SOURCES, METHODOLOGY_VERSION, PRODUCTION_SOURCES

CONTENT_TYPE: Final[str] = "application/vnd.apache.parquet"
COMPRESSION: Final[str] = "zstd"
INTERVAL_MINUTES: Final[int] = 30
_SERIES_SOURCES: Final[tuple[str, ...]] = (*PRODUCTION_SOURCES, *BALANCE_SOURCES)

# (column, unit, how to read it from an interval): the numeric columns, in file order.
_NUMBER_COLUMNS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("production_mw", "MW", ("production_mw",)),
    ("consumption_mw", "MW", ("consumption_mw",)),
    *((f"{s}_mw", "MW", ("sources", s)) for s in _SERIES_SOURCES),
    *((f"facteur_charge_{s}_pct", "%", ("facteur_charge", s)) for s in PRODUCTION_SOURCES),
    ("carbon_intensity_g_per_kwh", "gCO2eq/kWh", ("carbon_intensity_g_per_kwh",)),
)
NUMBER_COLUMNS: Final[tuple[str, ...]] = tuple(name for name, _, _ in _NUMBER_COLUMNS)

_FILE_METADATA: Final[dict[str, str]] = {
    "timezone": TIMEZONE,
    "interval_minutes": str(INTERVAL_MINUTES),
    "units": json.dumps({name: unit for name, unit, _ in _NUMBER_COLUMNS}),
    "power": "mean power over the interval (MW); energy in MWh = MW x interval_minutes / 60",
    "missing": "null: no value published for that interval (never 0)",
    "source": "RTE eCO2mix regional data (via ODRE)",
    "methodology_version": METHODOLOGY_VERSION,
    # Licence Ouverte v2.0 asks a reuser to name the source and the date of the data's last update: the
    # date is each row's day documents' load time, and the API's /v1/methodologies `data_last_updated`.
    "licence": f"{LICENCE['name']} ({LICENCE['url']})",
    "attribution": LICENCE["attribution"],
}


def _field(name: str, kind: pa.DataType, unit: str | None = None, nullable: bool = True) -> pa.Field:
    return pa.field(name, kind, nullable=nullable, metadata={"unit": unit} if unit else None)


SCHEMA: Final[pa.Schema] = pa.schema(
    [
        _field("region_code", pa.string(), nullable=False),
        _field("region_name", pa.string(), nullable=False),
        _field("timestamp", pa.timestamp("us", tz=TIMEZONE), nullable=False),
        _field("date", pa.date32(), nullable=False),
        *(_field(name, pa.float64(), unit) for name, unit, _ in _NUMBER_COLUMNS),
        _field("final", pa.bool_(), nullable=False),
        _field("nature", pa.string()),
    ],
    metadata=_FILE_METADATA,
)


def _value(interval: Mapping[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = interval
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return None if value is None else float(value)


def interval_table(day_docs: Iterable[Mapping[str, Any]]) -> pa.Table:
    """One row per interval of each day document, in the order given."""
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    stamps: list[str] = []
    for doc in day_docs:
        intervals = doc["intervals"]
        count = len(intervals)
        columns["region_code"] += [doc["region_code"]] * count
        columns["region_name"] += [doc["region_name"]] * count
        columns["date"] += [date.fromisoformat(doc["date"])] * count
        columns["final"] += [bool(doc.get("final"))] * count
        columns["nature"] += [doc.get("nature")] * count
        stamps += [i["timestamp"] for i in intervals]
        for name, _, path in _NUMBER_COLUMNS:
            columns[name] += [_value(i, path) for i in intervals]
    # ISO strings with their offsets → instants; the column keeps them in UTC with the zone attached.
    instants = pd.to_datetime(pd.Series(stamps, dtype="object"), format="ISO8601", utc=True)
    columns["timestamp"] = instants.dt.tz_convert(TIMEZONE).astype(f"datetime64[us, {TIMEZONE}]")
    arrays = [pa.array(columns[f.name], type=f.type, from_pandas=True) for f in SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def to_parquet(table: pa.Table) -> bytes:
    """The file's bytes (same table, same bytes: the cache keeps one file per version)."""
    sink = io.BytesIO()
    pq.write_table(table.cast(SCHEMA), sink, compression=COMPRESSION)
    return sink.getvalue()


def render_days_parquet(day_docs: Iterable[Mapping[str, Any]]) -> bytes:
    return to_parquet(interval_table(day_docs))


def concat_parquet(parts: Iterable[bytes]) -> bytes:
    """One file holding the rows of `parts` (files of this schema) in the order given.

    Streamed: each part is read and written as the file's next row group(s), then dropped, so a year of every
    region never sits whole in memory as a table (concat_tables held every part's table, then the copy written).
    The same parts still give the same bytes."""
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, SCHEMA, compression=COMPRESSION) as writer:
        for part in parts:
            writer.write_table(pq.read_table(io.BytesIO(part)).cast(SCHEMA))
    return sink.getvalue()
