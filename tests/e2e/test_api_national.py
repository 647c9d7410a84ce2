"""France (FR) over real HTTP against devhost, on the materialized 2024 sample data: FR reconciles with the 12
regions at every interval of the year (sources, consumption, intensity Σ(P·EF)/ΣP), and is served wherever a
route takes a region (regions list, point read, range, exports, changes feed, revisions)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from domain.parquet_export import NUMBER_COLUMNS
from domain.regions import REGIONS
from domain.sources import EMISSION_FACTORS_G_PER_KWH, PRODUCTION_SOURCES
from tests.support.e2e_api import Api, DevhostServer

pytestmark = pytest.mark.e2e
CODES = {r.code for r in REGIONS}
SUMMED = [c for c in NUMBER_COLUMNS if c.endswith("_mw") and c != "production_mw"]  # sources and consumption


@pytest.fixture(scope="module")
def api(devhost_server: DevhostServer) -> Iterator[Api]:
    client = Api(devhost_server)
    yield client
    client.session.close()


def parquet(api: Api, params: dict[str, str]) -> pd.DataFrame:
    resp = api.get("/v1/export/parquet", params=params)
    assert resp.status_code == 302, resp.text[:300]
    got = requests.get(resp.headers["Location"], timeout=120)
    assert got.status_code == 200
    return pd.read_parquet(io.BytesIO(got.content))


def test_fr_reconciles_with_the_12_regions_at_every_interval_of_the_year(api: Api) -> None:
    regions = parquet(api, {"year": "2024"})  # "all regions": the 12, FR is not one of them
    france = parquet(api, {"region_code": "FR", "year": "2024"})
    assert set(regions["region_code"]) == CODES
    assert set(france["region_code"]) == {"FR"} and set(france["region_name"]) == {"France"}
    assert len(france) == 17568 == len(regions) // 12  # 366 days, 46 + 50 on the DST days

    # Per source (and consumption): FR = the sum of the regions that report that column; a region reporting it
    # with a hole would make FR null there (none in the sample), never a partial sum.
    sums = regions.groupby("timestamp")[SUMMED].sum(min_count=1).reindex(france["timestamp"])
    fr = france.set_index("timestamp")[SUMMED]
    assert fr.notna().equals(sums.notna())
    worst = float(np.nanmax(np.abs(fr.to_numpy() - sums.to_numpy())))
    assert worst <= 0.006, worst  # the regions' values and FR's are each rounded to 3 decimals

    # Intensity: Σ(P·EF)/ΣP over the FR production sums, not a mean of the regional intensities.
    production = np.clip(fr[[f"{s}_mw" for s in PRODUCTION_SOURCES]].to_numpy(), 0, None)
    factors = np.array([EMISSION_FACTORS_G_PER_KWH[s] for s in PRODUCTION_SOURCES])
    present = ~np.isnan(production)
    expected = np.where(present, production, 0) @ factors / np.where(present, production, 0).sum(axis=1)
    intensity = france["carbon_intensity_g_per_kwh"].to_numpy()
    assert np.nanmax(np.abs(intensity - expected)) <= 0.001
    mean_of_regions = regions.groupby("timestamp")["carbon_intensity_g_per_kwh"].mean().reindex(france["timestamp"])
    assert np.nanmax(np.abs(intensity - mean_of_regions.to_numpy())) > 1  # the sample's regions differ: it shows
    print(
        f"\nFR reconciliation 2024: {len(france)} intervals x {len(SUMMED)} columns, "
        f"max |FR - Σ regions| = {worst:.4f} MW"
    )


def test_fr_is_a_region_of_every_read_route(api: Api) -> None:
    regions = api.get("/v1/regions").json()["items"]
    fr = regions[-1]
    assert (fr["code"], fr["name"], fr["first_day"], fr["last_day"]) == ("FR", "France", "2024-01-01", "2024-12-31")

    day = api.get("/v1/production/regional/FR/2024-10-27")
    assert day.status_code == 200 and "ETag" in day.headers
    body = day.json()
    assert body["interval_count"] == 50 and body["complete"] is True and body["regions_missing"] == []
    assert (
        api.get("/v1/production/regional/FR/2024-10-27", headers={"If-None-Match": day.headers["ETag"]}).status_code
        == 304
    )

    page = api.get(
        "/v1/production/regional",
        params={"region_code": "FR", "start_date": "2024-10-27", "end_date": "2024-10-27", "granularity": "30min"},
    ).json()
    assert page["total"] == 50 and all(i["region"] == "FR" and i["complete"] is True for i in page["items"])
    days = api.get(
        "/v1/production/regional",
        params={"region_code": "FR", "start_date": "2024-01-01", "end_date": "2024-12-31", "granularity": "day"},
    ).json()
    assert days["total"] == 366

    csv = api.get("/v1/export/csv", params={"region_code": "FR", "date": "2024-10-27"})
    assert csv.status_code == 302
    text = requests.get(csv.headers["Location"], timeout=60).content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 1 + 50 and {"FR", "France"} <= set(lines[1].split(";"))

    revisions = api.get("/v1/production/regional/FR/2024-10-27/revisions")
    assert revisions.status_code == 200, revisions.text[:300]

    kinds = _fr_changes(api)
    assert ("day", "2024-10-27") in kinds and ("month", "2024-10") in kinds


def _fr_changes(api: Api) -> set[tuple[str, Any]]:
    seen: set[tuple[str, Any]] = set()
    path: str | None = "/v1/changes?limit=1000"
    while path:
        body = api.get(path).json()
        seen |= {(i["kind"], i.get("date") or i.get("month")) for i in body["items"] if i["region"] == "FR"}
        path = body["next"].removeprefix(api.server.base_url) if body["next"] else None
    return seen


def test_fr_is_not_a_backfill_region(api: Api) -> None:
    resp = api.call(
        "POST",
        "/v1/admin/backfills",
        role="operator",
        json={"start_date": "2031-01-01", "end_date": "2031-01-01", "region_codes": ["FR"]},
    )
    assert resp.status_code == 400
