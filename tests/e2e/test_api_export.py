"""Bulk and Parquet exports over real HTTP against devhost: a 302, then the download through the signed link."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import requests

from domain.regions import REGIONS
from tests.support.e2e_api import Api, assert_problem

pytestmark = pytest.mark.e2e
ALL = {r.code for r in REGIONS}


def download(api: Api, path: str, params: dict[str, str], file_name: str, media_type: str) -> bytes:
    resp = api.get(path, params=params)
    assert resp.status_code == 302, resp.text[:300]
    assert resp.headers["Cache-Control"] == "no-store"
    # Redirects are not followed by the test client: the signed link is fetched without the key.
    got = requests.get(resp.headers["Location"], timeout=120)
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith(media_type)
    assert f'filename="{file_name}"' in got.headers.get("Content-Disposition", "")
    return got.content


@pytest.mark.parametrize(
    ("path", "params", "file_name", "rows", "regions"),
    [
        ("/v1/export/parquet", {"region_code": "32", "year": "2024"}, "eco2mix_32_2024.parquet", 17568, {"32"}),
        ("/v1/export/csv", {"month": "2024-10", "format": "parquet"}, "eco2mix_all_2024-10.parquet", 12 * 1490, ALL),
        ("/v1/export/parquet", {"date": "2024-03-31"}, "eco2mix_all_2024-03-31.parquet", 12 * 46, ALL),
    ],
)
def test_parquet_files_hold_one_row_per_interval(
    api: Api, path: str, params: dict[str, str], file_name: str, rows: int, regions: set[str]
) -> None:
    frame = pd.read_parquet(io.BytesIO(download(api, path, params, file_name, "application/vnd.apache.parquet")))
    assert len(frame) == rows and set(frame["region_code"]) == regions
    assert str(frame["timestamp"].dt.tz) == "Europe/Paris"
    assert not frame.duplicated(["region_code", "timestamp"]).any()


@pytest.mark.parametrize(
    ("params", "file_name", "rows", "first_cells"),
    [
        (
            {"region_code": "32", "year": "2024"},
            "eco2mix_32_2024.csv",
            366,
            "32;Hauts-de-France;2024-01-01T00:00:00+01:00",
        ),
        ({"year": "2024"}, "eco2mix_all_2024.csv", 12 * 366, "11;Île-de-France;2024-01-01T00:00:00+01:00;01/01/2024"),
        ({"date": "2024-10-27"}, "eco2mix_all_2024-10-27.csv", 12 * 50, "11;Île-de-France;2024-10-27T00:00:00+02:00"),
    ],
)
def test_csv_bulk_files_name_their_regions(
    api: Api, params: dict[str, str], file_name: str, rows: int, first_cells: str
) -> None:
    data = download(api, "/v1/export/csv", params, file_name, "text/csv")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").split("\r\n")[:-1]
    assert lines[0].startswith("code_region;nom_region;horodatage;date_locale;")
    assert len(lines) == rows + 1 and lines[1].startswith(first_cells)


def test_parquet_values_equal_the_json_api(api: Api) -> None:
    data = download(
        api,
        "/v1/export/parquet",
        {"region_code": "84", "month": "2024-03"},
        "eco2mix_84_2024-03.parquet",
        "application",
    )
    frame = pd.read_parquet(io.BytesIO(data))
    query = {"region_code": "84", "start_date": "2024-03-01", "end_date": "2024-03-31", "granularity": "30min"}
    items = api.get("/v1/production/regional", params={**query, "limit": "5000"}).json()["items"]
    assert [t.isoformat() for t in frame["timestamp"]] == [i["timestamp"] for i in items]

    def cell(value: float) -> float | None:
        return None if pd.isna(value) else float(value)

    for column, read in (
        ("production_mw", lambda i: i["production_mw"]),
        ("nucleaire_mw", lambda i: i["sources"].get("nucleaire")),
        ("facteur_charge_solaire_pct", lambda i: i["facteur_charge"].get("solaire")),
        ("carbon_intensity_g_per_kwh", lambda i: i["carbon_intensity_g_per_kwh"]),
    ):
        assert [cell(v) for v in frame[column]] == [read(i) for i in items], column


def test_a_second_request_redirects_to_the_same_file(api: Api) -> None:
    params = {"month": "2024-07", "format": "parquet"}
    first, second = (api.get("/v1/export/csv", params=params) for _ in range(2))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"].split("?")[0] == second.headers["Location"].split("?")[0]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/export/parquet", {"year": "2024", "format": "csv"}, 400),
        ("/v1/export/csv", {"year": "2024", "month": "2024-01"}, 400),
        ("/v1/export/csv", {"year": "24"}, 400),
        ("/v1/export/csv", {"format": "parquet"}, 400),
        ("/v1/export/parquet", {"year": "2031"}, 404),
        ("/v1/export/csv", {"region_code": "32", "year": "2031"}, 404),
    ],
)
def test_bad_combinations_and_missing_data_are_problems(
    api: Api, path: str, params: dict[str, str], status: int
) -> None:
    assert_problem(api.get(path, params=params), status)
