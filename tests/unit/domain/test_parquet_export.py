"""Parquet rendering: typed schema, zoned timestamps on DST days, nulls for missing, units, concatenation."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domain.parquet_export import NUMBER_COLUMNS, SCHEMA, concat_parquet, render_days_parquet
from tests.unit.domain.test_csv_export import built_days


@pytest.mark.parametrize(("index", "rows", "repeated"), [(0, 46, 0), (1, 50, 2)])
def test_one_row_per_interval_with_zoned_timestamps(index: int, rows: int, repeated: int) -> None:
    doc = built_days()[index]
    frame = pd.read_parquet(io.BytesIO(render_days_parquet([doc])))
    assert len(frame) == rows and frame["timestamp"].is_unique
    assert [t.isoformat() for t in frame["timestamp"]] == [i["timestamp"] for i in doc["intervals"]]
    assert [t.strftime("%H:%M") for t in frame["timestamp"]].count("02:00") == repeated
    assert set(frame["region_code"]) == {"93"} and set(frame["region_name"]) == {"Provence-Alpes-Côte d'Azur"}


def test_missing_values_are_null_never_zero() -> None:
    doc = built_days()[1]
    frame = pd.read_parquet(io.BytesIO(render_days_parquet([doc])))
    expected = [i["sources"]["eolien"] for i in doc["intervals"]]
    assert [None if pd.isna(v) else v for v in frame["eolien_mw"]] == expected
    assert None in expected and frame["nucleaire_mw"].isna().all()


def test_schema_is_typed_and_states_units_and_time_zone() -> None:
    schema = pq.read_schema(io.BytesIO(render_days_parquet(built_days())))
    assert schema.field("timestamp").type == pa.timestamp("us", tz="Europe/Paris")
    assert schema.field("date").type == pa.date32()
    assert all(schema.field(c).type == pa.float64() for c in NUMBER_COLUMNS)
    assert schema.field("eolien_mw").metadata == {b"unit": b"MW"}
    assert schema.field("facteur_charge_eolien_pct").metadata == {b"unit": b"%"}
    meta = schema.metadata
    assert meta[b"timezone"] == b"Europe/Paris" and meta[b"interval_minutes"] == b"30"
    assert json.loads(meta[b"units"])["carbon_intensity_g_per_kwh"] == "gCO2eq/kWh"


def test_file_metadata_states_the_licence_and_attribution() -> None:
    meta = pq.read_schema(io.BytesIO(render_days_parquet(built_days()))).metadata
    assert meta[b"attribution"].decode() == "RTE via ODRÉ"
    assert meta[b"licence"].decode().startswith("Licence Ouverte / Open Licence v2.0")


def test_concatenated_files_equal_the_file_of_all_documents() -> None:
    days = built_days()
    parts = [render_days_parquet([d]) for d in days]
    # Streamed: one row group per part, so the rows and the schema (with its metadata) equal, not the bytes...
    concatenated = pq.read_table(io.BytesIO(concat_parquet(iter(parts))))
    assert concatenated.equals(pq.read_table(io.BytesIO(render_days_parquet(days))))
    assert concatenated.schema.equals(SCHEMA, check_metadata=True)
    assert pq.ParquetFile(io.BytesIO(concat_parquet(parts))).num_row_groups == len(parts)
    assert concat_parquet(parts) == concat_parquet(parts)  # ...but the same parts give the same bytes
    assert pq.read_table(io.BytesIO(concat_parquet([]))).schema.equals(SCHEMA)
