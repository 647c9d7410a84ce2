"""The carbon-aware reads over real HTTP against devhost, on the materialized 2024 sample data:
/v1/intensity/now (one document, rewritten at every commit) and /v1/methodologies (public, dated)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from domain.regions import AREAS
from tests.support.e2e_api import Api, DevhostServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(devhost_server: DevhostServer) -> Iterator[Api]:
    client = Api(devhost_server)
    yield client
    client.session.close()


def _backfill(api: Api, day: str, region: str) -> dict[str, Any]:
    started = api.call(
        "POST",
        "/v1/admin/backfills",
        role="operator",
        json={"start_date": day, "end_date": day, "region_codes": [region]},
    )
    assert started.status_code == 202, started.text[:300]
    deadline = time.monotonic() + 120
    while True:
        body: dict[str, Any] = api.get(started.headers["Location"], role="operator").json()
        if body["runtime_status"] in {"Completed", "Failed", "Terminated"} or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_intensity_now_lists_every_region_and_fr_and_changes_with_every_commit(api: Api) -> None:
    resp = api.get("/v1/intensity/now")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, max-age=60"
    body = resp.json()
    assert [i["region_code"] for i in body["items"]] == [a.code for a in AREAS] and body["missing"] == []
    last = {i["region_code"]: i for i in body["items"]}
    assert {i["timestamp"] for i in body["items"]} == {"2024-12-31T23:30:00+01:00"}
    fr = last["FR"]
    assert fr["complete"] is True and fr["consumption_mw"] == pytest.approx(
        sum(last[a.code]["consumption_mw"] for a in AREAS[:-1]), abs=0.01
    )
    assert sum(v for v in fr["mix_pct"].values() if v is not None) == pytest.approx(100, abs=0.1)
    assert api.get("/v1/intensity/now", role=None).status_code == 401

    done = _backfill(api, "2024-12-31", "11")  # nothing changes in Gold: the commit alone rewrites the document
    assert done["runtime_status"] == "Completed", done
    again = api.get("/v1/intensity/now").json()
    assert again["materialized_at"] > body["materialized_at"]
    assert again["items"] == body["items"]


def test_methodologies_are_public_and_dated_by_the_data(api: Api) -> None:
    resp = api.get("/v1/methodologies", role=None)
    assert resp.status_code == 200
    body = resp.json()
    assert body["licence"]["attribution"] == "RTE via ODRÉ"
    assert body["data_last_updated"] == "2025-01-15T06:00:00.000000Z"  # the sample Gold's loaded_at
    assert body["national_aggregation"]["region_code"] == "FR"


def test_the_fr_forecast_starts_at_the_end_of_the_data_and_is_never_worse_than_seasonal_naive(api: Api) -> None:
    resp = api.get("/v1/forecast/regional/FR")
    assert resp.status_code == 200, resp.text[:300]
    body = resp.json()
    assert body["origin"] == "2024-12-31T23:00:00Z" and body["history"]["days"] == 365
    assert len(body["intervals"]) == 96 and body["intervals"][0]["timestamp"] == "2025-01-01T00:00:00+01:00"
    for variable, model in body["models"].items():
        for band in model["bands"]:
            assert band["mae"] <= band["mae_seasonal_naive"], (variable, band)
    assert "no weather" in body["exogenous_inputs"]
    assert len(api.get("/v1/forecast/regional/FR", params={"horizon": "6"}).json()["intervals"]) == 12
    assert api.get("/v1/forecast/regional/FR", params={"horizon": "49"}).status_code == 400
    assert api.get("/v1/forecast/regional/99").status_code == 404


def test_greenest_window_measured_in_the_past_forecast_in_the_future(api: Api) -> None:
    path = "/v1/intensity/greenest-window"
    past = api.get(
        path,
        params={
            "region_code": "FR",
            "duration": "PT3H",
            "start": "2024-10-26T00:00:00+02:00",
            "end": "2024-10-28T00:00:00+01:00",
            "k": "3",
        },
    )
    assert past.status_code == 200, past.text[:300]
    body = past.json()
    assert body["basis"] == "measured" and body["expected_error"] is None
    assert body["half_hours"] == 48 + 50 == body["half_hours_with_data"]  # the autumn DST day has 50
    assert body["best"]["saving_g_per_kwh"] > 0 and len(body["alternatives"]) == 2

    future = api.get(path, params={"region_code": "FR", "duration": "PT2H"}).json()
    assert future["basis"] == "forecast" and future["span"]["start"] == "2025-01-01T00:00:00+01:00"
    assert future["expected_error"]["mae_g_per_kwh"] > 0 and future["best"] is not None

    crossing = {"region_code": "FR", "duration": "PT1H", "start": "2024-12-31T00:00:00+01:00"}
    for params in (crossing, {"region_code": "FR", "duration": "PT45M"}, {"region_code": "FR", "duration": "P1Y"}):
        resp = api.get(path, params=params)
        assert resp.status_code == 400 and resp.headers["Content-Type"].startswith("application/problem+json")
