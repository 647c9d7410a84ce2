"""GET /v1/methodologies: public, the methodology dated by the watermark, licence and attribution."""

from __future__ import annotations

import json

import pytest

import api.http
from api import methodology
from api.http import respond
from api.methodology import Methodology
from core.settings import Settings
from domain.naming import WATERMARK_DOC_ID
from domain.sources import METHODOLOGY_VERSION
from stores.ports import SYSTEM_PARTITION
from tests.support.api_documents import FakeStores, MakeRequest


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch, settings: Settings, fake_stores: FakeStores) -> None:
    monkeypatch.setattr(api.http, "get_settings", lambda: settings)


def _get(make_request: MakeRequest, **kw: object) -> tuple[int, dict[str, str], dict[str, object]]:
    resp = respond(make_request("GET", "/v1/methodologies", **kw), methodology.ROUTE, methodology._handle)
    return resp.status_code, dict(resp.headers), json.loads(resp.get_body() or b"null")


def test_public_and_undated_before_any_materialization(make_request: MakeRequest) -> None:
    status, headers, body = _get(make_request, key=None)
    assert status == 200, body
    Methodology.model_validate(body)
    assert body["data_last_updated"] is None
    assert body["methodology_version"] == METHODOLOGY_VERSION
    assert body["licence"]["attribution"] == "RTE via ODRÉ"  # type: ignore[index]
    assert headers["Cache-Control"].startswith("public")


def test_dated_by_the_watermark_and_the_etag_follows_it(make_request: MakeRequest, fake_stores: FakeStores) -> None:
    _, first, _ = _get(make_request)
    fake_stores.documents.upsert(
        {"id": WATERMARK_DOC_ID, "region_code": SYSTEM_PARTITION, "value": "2025-01-02T03:04:05.000001Z"}
    )
    status, headers, body = _get(make_request)
    assert status == 200 and body["data_last_updated"] == "2025-01-02T03:04:05.000001Z"
    assert headers["ETag"] != first["ETag"]
    status, _, _ = _get(make_request, headers={"If-None-Match": headers["ETag"]})
    assert status == 304
