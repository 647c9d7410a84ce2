"""Bulk exports over in-memory ports: which file a request names, its rows, versions, caching, no data."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from domain import materialization as mat
from domain.bulk_export import BulkExports, ExportSpec, Format
from domain.csv_export import DAY_COLUMNS, MONTH_COLUMNS
from domain.parquet_export import NUMBER_COLUMNS
from domain.regions import REGIONS
from tests.support.fakes import CountingDocuments, MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows

# Region 11: 2024-03-30 (48), the spring DST day (46), 2024-04-01 (48); region 93: the autumn DST day (50).
IDF_DAYS = ("2024-03-30", "2024-03-31", "2024-04-01")


def gold(eolien_0401: float = 100.0) -> MemoryGold:
    idf = [
        r
        for day in IDF_DAYS
        for r in gold_day_rows(
            day, {"eolien": eolien_0401 if day == "2024-04-01" else 100.0, "solaire": None, "consommation": 150.0}
        )
    ]
    paca = gold_day_rows("2024-10-27", {"hydraulique": 300.0, "consommation": 400.0})
    return MemoryGold({"11": idf, "93": paca})


def materialize(source: MemoryGold, docs: MemoryDocuments, files: MemoryFiles, mode: str = "incremental") -> None:
    request = {"mode": mode, "start_date": "2024-01-01", "end_date": "2024-12-31"}
    plan = mat.plan(source, docs, request, parallelism=4)
    mat.commit(docs, plan, [mat.materialize_batch(source, docs, files, b) for b in plan["batches"]])


Stores = tuple[CountingDocuments, MemoryFiles]


@pytest.fixture
def stores() -> Stores:
    docs, files = CountingDocuments(), MemoryFiles()
    materialize(gold(), docs, files)
    return docs, files


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = data[3:].decode("utf-8").split("\r\n")[:-1]
    return [dict(zip(header.split(";"), row.split(";"), strict=True)) for row in rows]


def read_parquet(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


@pytest.mark.parametrize(
    ("fmt", "period", "region", "rows", "regions"),
    [
        ("csv", "2024-03-31", None, 46, {"11"}),  # one region has data that day
        ("csv", "2024-10-27", None, 50, {"93"}),
        ("csv", "2024-03", None, 2, {"11"}),  # month files: one row per day
        ("csv", "2024", "11", 3, {"11"}),
        ("csv", "2024", None, 4, {"11", "93"}),
        ("parquet", "2024-03-31", "11", 46, {"11"}),  # Parquet: one row per interval
        ("parquet", "2024-03", "11", 48 + 46, {"11"}),
        ("parquet", "2024", "11", 48 + 46 + 48, {"11"}),
        ("parquet", "2024-10", None, 50, {"93"}),
        ("parquet", "2024", None, 48 + 46 + 48 + 50, {"11", "93"}),
    ],
)
def test_each_file_holds_the_rows_of_its_period_and_regions(
    stores: Stores,
    fmt: Format,
    period: str,
    region: str | None,
    rows: int,
    regions: set[str],
) -> None:
    docs, files = stores
    name = BulkExports(docs, files).file_for(ExportSpec(fmt, period, region))
    assert name is not None and name.startswith("bulk/") and name.endswith(f"/eco2mix_{region or 'all'}_{period}.{fmt}")
    data = files.read(name)
    assert data is not None
    if fmt == "csv":
        table = read_csv(data)
        assert list(table[0]) == list(DAY_COLUMNS if len(period) == 10 else MONTH_COLUMNS)
        assert len(table) == rows and {r["code_region"] for r in table} == regions
    else:
        frame = read_parquet(data)
        assert len(frame) == rows and set(frame["region_code"]) == regions
        assert frame["timestamp"].is_unique and frame.groupby("region_code")["timestamp"].is_monotonic_increasing.all()


def test_region_day_and_month_csv_are_the_materialized_files(stores: Stores) -> None:
    docs, files = stores
    exports = BulkExports(docs, files)
    assert exports.file_for(ExportSpec("csv", "2024-03-31", "11")) == "11/2024/eco2mix_11_2024-03-31.csv"
    assert exports.file_for(ExportSpec("csv", "2024-04", "11")) == "11/2024/eco2mix_11_2024-04.csv"


@pytest.mark.parametrize(
    ("fmt", "period", "region"),
    [
        ("csv", "2024-05-01", "11"),
        ("csv", "2024-05-01", None),
        ("csv", "2023", None),
        ("csv", "2024", "24"),
        ("parquet", "2024-05-01", "11"),
        ("parquet", "2024-05", None),
        ("parquet", "2023", "11"),
        ("parquet", "2023", None),
    ],
)
def test_no_data_is_no_file(stores: Stores, fmt: Format, period: str, region: str | None) -> None:
    docs, files = stores
    before = files.writes
    assert BulkExports(docs, files).file_for(ExportSpec(fmt, period, region)) is None
    assert files.writes == before


def test_parquet_values_are_the_documents_per_interval_with_nulls_and_zoned_timestamps(
    stores: Stores,
) -> None:
    docs, files = stores
    name = BulkExports(docs, files).file_for(ExportSpec("parquet", "2024", "11"))
    assert name is not None
    frame = read_parquet(files.read(name) or b"")
    assert str(frame["timestamp"].dt.tz) == "Europe/Paris"
    expected = [
        (i["timestamp"], i["sources"]["eolien"], i["consumption_mw"])
        for d in docs.query_range("11", "day", "2024-01-01", "2024-12-31")
        for i in d["intervals"]
    ]
    got = list(
        zip([t.isoformat() for t in frame["timestamp"]], frame["eolien_mw"], frame["consumption_mw"], strict=True)
    )
    assert got == expected
    assert frame["solaire_mw"].isna().all() and frame["nucleaire_mw"].isna().all()  # missing stays null, not 0
    assert set(NUMBER_COLUMNS) <= set(frame.columns) and frame["production_mw"].dtype == "float64"
    spring = frame[frame["date"] == pd.Timestamp("2024-03-31").date()]
    assert len(spring) == 46 and "02:00" not in {t.strftime("%H:%M") for t in spring["timestamp"]}


def test_a_second_request_reuses_the_file_and_reads_no_body(stores: Stores) -> None:
    docs, files = stores
    exports = BulkExports(docs, files)
    specs = [ExportSpec("parquet", "2024", None), ExportSpec("csv", "2024", None), ExportSpec("csv", "2024-03", None)]
    first = [exports.file_for(s) for s in specs]
    writes, reads = files.writes, len(docs.ranges)
    assert [exports.file_for(s) for s in specs] == first
    assert files.writes == writes
    # Parquet: hashes only. The year CSV reads its (small) month documents again, one query per region.
    assert len(docs.ranges) - reads == len(REGIONS)


def test_new_data_is_a_new_version_built_from_the_unchanged_parts(
    stores: Stores,
) -> None:
    docs, files = stores
    exports = BulkExports(docs, files)
    year = ExportSpec("parquet", "2024", None)
    old_name = exports.file_for(year)
    materialize(gold(eolien_0401=55.5), docs, files, mode="backfill")  # Gold revised 2024-04-01 of region 11
    reads = len(docs.ranges)
    new_name = exports.file_for(year)
    assert new_name is not None and new_name != old_name
    assert len(docs.ranges) - reads == 1  # only the month of the changed day is read from its documents
    frame = read_parquet(files.read(new_name) or b"")
    april = frame[(frame["region_code"] == "11") & (frame["date"] == pd.Timestamp("2024-04-01").date())]
    assert set(april["eolien_mw"]) == {55.5}
    old = read_parquet(files.read(old_name or "") or b"")
    assert set(old[old["date"] == pd.Timestamp("2024-04-01").date()]["eolien_mw"]) == {100.0}  # a version never changes


def test_building_twice_writes_the_same_bytes(stores: Stores) -> None:
    docs, files = stores
    name = BulkExports(docs, files).file_for(ExportSpec("parquet", "2024", None))
    assert name is not None
    fresh = MemoryFiles()
    assert BulkExports(docs, fresh).file_for(ExportSpec("parquet", "2024", None)) == name
    assert fresh.read(name) == files.read(name)


@pytest.mark.parametrize("spec", [ExportSpec("csv", "2024-03-31", "11"), ExportSpec("csv", "2024-03", "11")])
def test_a_current_materialized_csv_is_found_by_its_header_alone(stores: Stores, spec: ExportSpec) -> None:
    docs, files = stores
    name = spec.materialized_name()
    assert name is not None
    whole = files.read(name)
    assert whole is not None
    header_size = whole.index(b"\r\n") + 2
    files.bytes_read = 0
    assert BulkExports(docs, files).file_for(spec) == name
    assert files.bytes_read == header_size < len(whole)


def test_a_materialized_csv_shorter_than_its_header_is_rendered_again(stores: Stores) -> None:
    docs, files = stores
    spec = ExportSpec("csv", "2024-03-31", "11")
    name = spec.materialized_name()
    assert name is not None
    current = files.read(name)
    files.put(name, b"\xef\xbb\xbf", "text/csv")  # cut short: its header is not the current one
    assert BulkExports(docs, files).file_for(spec) == name and files.read(name) == current


@pytest.mark.parametrize(
    ("spec", "doc_id"),
    [(ExportSpec("csv", "2024-03-31", "11"), "11:2024-03-31"), (ExportSpec("csv", "2024-03", "11"), "11:2024-03")],
)
def test_a_materialized_csv_of_an_older_rendering_is_rendered_again(
    stores: Stores, spec: ExportSpec, doc_id: str
) -> None:
    docs, files = stores
    name = spec.materialized_name()
    assert name is not None
    current = files.read(name)
    files.put(name, b"\xef\xbb\xbfhorodatage;production_totale_MW\r\n", "text/csv")  # before the region columns
    assert BulkExports(docs, files).file_for(spec) == name
    assert files.read(name) == current
    writes = files.writes
    assert BulkExports(docs, files).file_for(spec) == name and files.writes == writes  # current: left alone
    assert docs.get("11", doc_id) is not None
