"""GET /v1/intensity/greenest-window through its handler: measured for a past span, forecast (with its expected
error) for a future one, a brute-force check of the answer, DST days, and 400s for bad durations and spans."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import api.http
from api import intensity
from api.http import respond
from api.intensity import GreenestWindow
from core.settings import Settings
from domain.forecast_materialization import materialize_forecast
from domain.greenest_reads import parse_duration
from tests.support.api_documents import FakeStores, MakeRequest
from tests.support.fakes import MemoryDocuments
from tests.unit.domain.test_forecast_materialization import materialized


@pytest.fixture(scope="module")
def store() -> MemoryDocuments:
    docs = materialized(30)  # region 93, 2024-03-01 … 2024-03-30, wind varying day to day
    assert materialize_forecast(docs, "93", "2025-01-01T00:00:00+00:00")["written"]
    return docs


@pytest.fixture(autouse=True)
def _wired(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, fake_stores: FakeStores, store: MemoryDocuments
) -> None:
    fake_stores.documents = store
    monkeypatch.setattr(api.http, "get_settings", lambda: settings)


def _get(make_request: MakeRequest, **params: str) -> tuple[int, Any]:
    req = make_request("GET", "/v1/intensity/greenest-window", params=params)
    resp = respond(req, intensity.GREENEST_ROUTE, intensity._greenest)
    return resp.status_code, json.loads(resp.get_body() or b"null")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_past_span_is_measured_and_the_best_window_is_the_brute_force_one(
    make_request: MakeRequest, store: MemoryDocuments
) -> None:
    status, body = _get(
        make_request,
        region_code="93",
        duration="PT3H",
        start="2024-03-10T00:00:00+01:00",
        end="2024-03-17T00:00:00+01:00",
        k="3",
    )
    assert status == 200, body
    GreenestWindow.model_validate(body)
    assert body["basis"] == "measured" and body["expected_error"] is None and body["half_hours"] == 7 * 48
    series = {
        _instant(i["timestamp"]): i["carbon_intensity_g_per_kwh"]
        for d in store.query_range("93", "day", "2024-03-10", "2024-03-16")
        for i in d["intervals"]
    }
    starts = sorted(series)
    means = [(sum(series[t + timedelta(minutes=30 * j)] for j in range(6)) / 6, t) for t in starts[: len(starts) - 5]]
    best_mean = min(means)[0]
    by_start = {t: m for m, t in means}
    # The sample days are flat, so many windows tie: the answer's window is one of the lowest (float noise aside).
    assert by_start[_instant(body["best"]["start"])] == pytest.approx(best_mean, abs=1e-6)
    assert body["best"]["mean_intensity_g_per_kwh"] == pytest.approx(best_mean, abs=1e-3)
    assert body["best"]["saving_g_per_kwh"] == pytest.approx(
        body["span_mean_intensity_g_per_kwh"] - best_mean, abs=2e-3
    )
    assert len(body["alternatives"]) == 2
    chosen = [_instant(w["start"]) for w in [body["best"], *body["alternatives"]]]
    assert all(abs(a - b) >= timedelta(hours=3) for a in chosen for b in chosen if a != b)  # no overlap


def test_a_span_over_the_spring_dst_day_has_46_half_hours_for_it(make_request: MakeRequest) -> None:
    status, body = _get(
        make_request,
        region_code="93",
        duration="PT1H",
        start="2024-03-30T00:00:00+01:00",
        end="2024-03-31T00:00:00+01:00",
    )
    assert status == 200 and body["half_hours"] == 48
    status, body = _get(
        make_request,
        region_code="93",
        duration="PT1H",
        start="2024-03-29T00:00:00+01:00",
        end="2024-03-31T00:00:00+01:00",
    )
    assert status == 200 and body["half_hours"] == 96 and body["half_hours_with_data"] == 96


def test_a_future_span_uses_the_forecast_and_states_its_expected_error(
    make_request: MakeRequest, store: MemoryDocuments
) -> None:
    status, body = _get(make_request, region_code="93", duration="PT2H")  # from the origin, 48 h
    assert status == 200, body
    assert body["basis"] == "forecast" and body["span"]["start"] == "2024-03-31T00:00:00+01:00"
    assert body["half_hours"] == 94 + 2  # 2024-03-31 has 46 half-hours, then 48 of 04-01 and 2 of 04-02
    error = body["expected_error"]
    assert [b["band"] for b in error["bands"]] == ["0-6h", "6-24h", "24-48h"]
    assert error["mae_g_per_kwh"] == max(b["mae_g_per_kwh"] for b in error["bands"])
    status, body = _get(
        make_request,
        region_code="93",
        duration="PT2H",
        start="2024-03-31T00:00:00+01:00",
        end="2024-03-31T05:00:00+02:00",
    )
    assert status == 200 and [b["band"] for b in body["expected_error"]["bands"]] == ["0-6h"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"duration": "PT45M"}, "duration"),
        ({"duration": "P1Y"}, "duration"),
        ({"duration": "PT"}, "duration"),
        ({"duration": "2h"}, "duration"),
        ({"duration": "PT1H", "start": "2024-03-01T00:00:00+01:00", "end": "2024-04-05T00:00:00+02:00"}, "end"),
        ({"duration": "PT1H", "start": "2024-03-10T00:15:00+01:00", "end": "2024-03-11T00:00:00+01:00"}, "start"),
        ({"duration": "PT1H", "start": "2024-03-30T00:00:00+01:00", "end": "2024-04-01T00:00:00+02:00"}, "end"),
        ({"duration": "PT1H", "start": "2024-03-10T00:00:00"}, "start"),
        ({"duration": "P2D", "start": "2024-03-10T00:00:00+01:00", "end": "2024-03-11T00:00:00+01:00"}, "duration"),
        ({"duration": "PT1H", "k": "11"}, "k"),
    ],
)
def test_bad_durations_and_spans_are_400_naming_the_parameter(
    make_request: MakeRequest, params: dict[str, str], parameter: str
) -> None:
    status, body = _get(make_request, region_code="93", **params)
    assert status == 400, body
    assert parameter in {e["parameter"] for e in body["errors"]}


def test_unknown_region_is_400_and_an_area_without_forecast_or_span_404(make_request: MakeRequest) -> None:
    assert _get(make_request, region_code="99", duration="PT1H")[0] == 400
    assert _get(make_request, region_code="FR", duration="PT1H")[0] == 404


@pytest.mark.parametrize(("text", "minutes"), [("PT30M", 30), ("PT2H", 120), ("PT1H30M", 90), ("P1DT6H", 1800)])
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("moment", ["9999-12-31T23:30:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_instants_out_of_range_are_400_not_an_overflow(make_request: MakeRequest, moment: str) -> None:
    status, body = _get(make_request, region_code="93", duration="PT1H", start=moment)
    assert status == 400 and body["errors"][0]["parameter"] == "start"
