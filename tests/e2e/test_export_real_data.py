"""Done-when check of the Parquet export on REAL data: the Hauts-de-France 2024 file (RTE éCO2mix via ODRÉ),
imported with `python -m devhost gold import`, materialized by the real app on devhost; the year's Parquet
file, downloaded through its 302, reads back in pandas with the JSON API's values for every interval."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env, new_api_keys
from domain.parquet_export import NUMBER_COLUMNS
from domain.sources import BALANCE_SOURCES, PRODUCTION_SOURCES
from tests.support.e2e_api import REPO

ECO2MIX = Path(os.environ.get("ECO2MIX_DATA_DIR", REPO.parent / "shared/data/eco2mix"))
HDF_2024 = ECO2MIX / "odre_regional/hanyuqi83-blip__Energy-4-Climate-Project/eco2mix-regional-cons-def.csv"
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not HDF_2024.exists(), reason=f"real éCO2mix data absent ({HDF_2024})"),
]


def json_value(item: dict[str, Any], column: str) -> float | None:
    """The JSON API's value for a Parquet column (the column names say where it sits in an item)."""
    if column.startswith("facteur_charge_"):
        return item["facteur_charge"].get(column.removeprefix("facteur_charge_").removesuffix("_pct"))
    source = column.removesuffix("_mw")
    if source in (*PRODUCTION_SOURCES, *BALANCE_SOURCES):
        return item["sources"].get(source)
    return item[column]


def test_the_year_parquet_file_equals_the_json_api_for_every_interval(
    launch_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    keys = new_api_keys()
    env = devhost_env(data_dir, API_KEYS=keys.env_value)
    imported = subprocess.run(
        [sys.executable, "-m", "devhost", "gold", "import", str(HDF_2024)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    host = launch_devhost(data_dir=data_dir, env=env)
    run = host.wait_for("materialize-incremental", 300)
    assert run["runtimeStatus"] == "Completed", host.output()[-3000:]
    session = requests.Session()
    session.headers["X-API-Key"] = keys.reader

    redirect = session.get(
        f"{host.base_url}/v1/export/parquet",
        params={"region_code": "32", "year": "2024"},
        allow_redirects=False,
        timeout=300,
    )
    assert redirect.status_code == 302, redirect.text[:500]
    got = requests.get(redirect.headers["Location"], timeout=60)
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/vnd.apache.parquet"
    frame = pd.read_parquet(io.BytesIO(got.content))

    items: list[dict[str, Any]] = []
    for month in MONTHS:
        last = pd.Period(month).end_time.date().isoformat()
        params = {"region_code": "32", "start_date": f"{month}-01", "end_date": last, "granularity": "30min"}
        page = session.get(f"{host.base_url}/v1/production/regional", params={**params, "limit": "5000"}, timeout=60)
        assert page.status_code == 200, page.text[:500]
        items += page.json()["items"]

    assert len(frame) == len(items) == 17568  # 366 days: 48 half-hours each, 46 on 03-31 and 50 on 10-27
    assert frame.groupby("date").size().loc[
        [pd.Timestamp("2024-03-31").date(), pd.Timestamp("2024-10-27").date()]
    ].tolist() == [46, 50]
    assert [t.isoformat() for t in frame["timestamp"]] == [i["timestamp"] for i in items]
    assert set(frame["region_code"]) == {"32"} and set(frame["region_name"]) == {"Hauts-de-France"}
    for column in NUMBER_COLUMNS:
        parquet = [None if pd.isna(v) else float(v) for v in frame[column]]
        api = [json_value(i, column) for i in items]
        assert parquet == api, column
    # Real values, not an empty frame that equals an empty API: nuclear is most of Hauts-de-France's production.
    assert frame["nucleaire_mw"].notna().mean() > 0.9 and frame["nucleaire_mw"].max() > 1000
