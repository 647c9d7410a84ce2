"""GET /v1/forecast/regional/{region_code} through its handler: the stored forecast cut to the horizon."""

from __future__ import annotations

import json
from typing import Any

import pytest

import api.http
from api import forecast
from api.forecast import Forecast
from api.http import respond
from core.settings import Settings
from domain.forecast_materialization import forecast_for
from tests.support.api_documents import FakeStores, MakeRequest, seed


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch, settings: Settings, fake_stores: FakeStores) -> None:
    monkeypatch.setattr(api.http, "get_settings", lambda: settings)


def _get(make_request: MakeRequest, code: str, **params: str) -> tuple[int, dict[str, str], Any]:
    req = make_request("GET", f"/v1/forecast/regional/{code}", params=params, route_params={"region_code": code})
    resp = respond(req, forecast.ROUTE, forecast._handle)
    return resp.status_code, dict(resp.headers), json.loads(resp.get_body() or b"null")


def test_the_forecast_cut_to_the_horizon(make_request: MakeRequest, fake_stores: FakeStores) -> None:
    assert _get(make_request, "44")[0] == 404
    seed(fake_stores.documents, ["44"], ["2024-02"])
    doc = forecast_for("44", fake_stores.documents.query_range("44", "day", "2024-02-01", "2024-02-29"), "t")
    assert doc is not None
    fake_stores.documents.upsert(doc)
    status, headers, body = _get(make_request, "44")
    assert status == 200 and len(body["intervals"]) == 96 and body["horizon_hours"] == 48
    Forecast.model_validate(body)
    assert "content_hash" not in body and "id" not in body
    status, other, body = _get(make_request, "44", horizon="6")
    assert status == 200 and len(body["intervals"]) == 12 and body["horizon_hours"] == 6
    assert other["ETag"] != headers["ETag"]


@pytest.mark.parametrize(
    ("code", "params", "status"),
    [("44", {"horizon": "49"}, 400), ("44", {"horizon": "0"}, 400), ("99", {}, 404), ("FR", {}, 404)],
)
def test_bad_horizon_400_unknown_region_or_no_forecast_404(
    make_request: MakeRequest, code: str, params: dict[str, str], status: int
) -> None:
    got, headers, body = _get(make_request, code, **params)
    assert got == status and headers["Content-Type"].startswith("application/problem+json"), body
