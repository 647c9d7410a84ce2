"""GET /v1/intensity/now through its handler: one point read, 404 before the first commit, short max-age."""

from __future__ import annotations

import json

import pytest

import api.http
from api import intensity
from api.http import respond
from api.intensity import IntensityNow
from core.settings import Settings
from domain.intensity_now import write_intensity_now
from tests.support.api_documents import FakeStores, MakeRequest, seed
from tests.support.fakes import CountingDocuments


@pytest.fixture(autouse=True)
def _wired(monkeypatch: pytest.MonkeyPatch, settings: Settings, fake_stores: FakeStores) -> None:
    monkeypatch.setattr(api.http, "get_settings", lambda: settings)


def _get(make_request: MakeRequest, **kw: object) -> tuple[int, dict[str, str], object]:
    resp = respond(make_request("GET", "/v1/intensity/now", **kw), intensity.NOW_ROUTE, intensity._now)
    return resp.status_code, dict(resp.headers), json.loads(resp.get_body() or b"null")


def test_404_before_any_commit_then_one_point_read(make_request: MakeRequest, fake_stores: FakeStores) -> None:
    status, _, body = _get(make_request)
    assert status == 404 and body["status"] == 404  # type: ignore[index]
    seed(fake_stores.documents, ["44"], ["2024-02"])
    write_intensity_now(fake_stores.documents, "2025-01-01T00:00:00Z")
    counting = CountingDocuments()
    counting.docs = fake_stores.documents.docs
    fake_stores.documents = counting
    status, headers, body = _get(make_request)
    assert status == 200 and counting.gets == 1 and not counting.ranges
    page = IntensityNow.model_validate(body)
    assert [i.region_code for i in page.items] == ["44"] and page.items[0].date == "2024-02-29"
    assert headers["Cache-Control"] == "private, max-age=60"
    assert _get(make_request, key=None)[0] == 401
