"""GET /v1/changes and GET /v1/production/regional/{region_code}/{date}/revisions through their HTTP handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest

import api.http
from api import changes, revisions
from api.changes import ChangesPage
from api.http import respond
from api.revisions import RevisionHistory
from core.settings import Settings
from domain import change_feed
from tests.support.api_documents import FakeStores, MakeRequest
from tests.support.change_feed_contracts import NEW, OLD, gold_at, run
from tests.support.fakes import MemoryDocuments


@pytest.fixture
def feed_stores(fake_stores: FakeStores) -> FakeStores:
    return fake_stores


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr(api.http, "get_settings", lambda: settings)


def _get(make_request: MakeRequest, path: str, **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
    if path.startswith("/v1/changes"):
        resp = respond(make_request("GET", path, **kwargs), changes.ROUTE, changes._handle)
    else:
        resp = respond(make_request("GET", path, **kwargs), revisions.ROUTE, revisions._handle)
    return resp.status_code, dict(resp.headers), json.loads(resp.get_body() or b"null")


def test_following_next_delivers_every_change_once_then_resumes_from_the_cursor(
    feed_stores: FakeStores, make_request: MakeRequest
) -> None:
    documents: MemoryDocuments = feed_stores.documents
    run(gold_at(OLD), documents, {"mode": "incremental"})
    seen: list[dict[str, Any]] = []
    params = {"limit": "5"}
    while True:
        status, headers, body = _get(make_request, "/v1/changes", params=params)
        assert status == 200
        ChangesPage.model_validate(body)
        seen += body["items"]
        if body["next"] is None:
            assert "no-store" in headers["Cache-Control"]
            break
        assert "immutable" in headers["Cache-Control"]  # a full page never changes
        params = dict(p.split("=") for p in body["next"].split("?", 1)[1].split("&"))
    assert len(seen) == 12 and len({(i["region"], i.get("date"), i.get("month")) for i in seen}) == 12
    day = next(i for i in seen if i["kind"] == "day")
    assert day["href"] == f"http://127.0.0.1:7071/v1/production/regional/{day['region']}/{day['date']}"
    month = next(i for i in seen if i["kind"] == "month" and i["month"] == "2024-04")
    assert month["href"].endswith("start_date=2024-04-01&end_date=2024-04-30&granularity=day")
    assert month["nature"] is None and "date" not in month
    run(gold_at(NEW), documents, {"mode": "incremental"})
    _, _, later = _get(make_request, "/v1/changes", params={"since": body["cursor"]})
    assert sorted(i.get("date") or i["month"] for i in later["items"]) == [
        "2024-04",
        "2024-04-02",
        "2024-05",
        "2024-05-01",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "not-a-cursor"},
        {"since": ""},
        {"since": "x" + change_feed.encode_cursor(change_feed.START)},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"since": "c" + "0" * 13},
        {"cursor": "abc"},
    ],
    ids=[
        "garbage",
        "empty",
        "foreign-prefix",
        "limit-zero",
        "limit-high",
        "limit-text",
        "too-long",
        "unknown-parameter",
    ],
)
def test_bad_parameters_are_400_problems(
    feed_stores: FakeStores, make_request: MakeRequest, params: dict[str, str]
) -> None:
    status, headers, body = _get(make_request, "/v1/changes", params=params)
    assert status == 400 and headers["Content-Type"].startswith("application/problem+json")
    assert body["request_id"] and body["errors"]


def test_an_empty_since_in_the_url_is_400_even_when_the_host_drops_it_from_params(
    feed_stores: FakeStores, make_request: MakeRequest
) -> None:
    status, _, body = _get(make_request, "/v1/changes?since=&limit=5", params={"limit": "5"})
    assert status == 400 and body["errors"][0]["parameter"] == "since"


def test_an_empty_feed_is_an_empty_page_with_a_cursor(feed_stores: FakeStores, make_request: MakeRequest) -> None:
    status, _, body = _get(make_request, "/v1/changes")
    assert status == 200 and body["items"] == [] and body["next"] is None
    assert change_feed.decode_cursor(body["cursor"]) == change_feed.START


def test_revisions_of_a_revised_day_oldest_first(feed_stores: FakeStores, make_request: MakeRequest) -> None:
    run(gold_at(OLD), feed_stores.documents, {"mode": "incremental"})
    run(gold_at(NEW), feed_stores.documents, {"mode": "incremental"})
    status, _, body = _get(
        make_request,
        "/v1/production/regional/11/2024-04-02/revisions",
        route_params={"region_code": "11", "date": "2024-04-02"},
    )
    assert status == 200
    RevisionHistory.model_validate(body)
    current = feed_stores.documents.get("11", "11:2024-04-02")
    assert body["count"] == 2 and body["items"][-1]["content_hash"] == current["content_hash"]
    assert body["items"][0]["changes"] is None and body["items"][1]["changes"]["energy_mwh"]["eolien"] == 1200.0
    assert body["units"] == {"energy": "MWh", "emissions": "tCO2eq"}


@pytest.mark.parametrize(
    ("route_params", "status"),
    [
        ({"region_code": "99", "date": "2024-04-02"}, 404),
        ({"region_code": "11", "date": "2024-06-01"}, 404),
        ({"region_code": "11", "date": "2024-13-01"}, 400),
    ],
    ids=["unknown-region", "no-data", "bad-date"],
)
def test_revisions_of_what_is_not_there(
    feed_stores: FakeStores, make_request: MakeRequest, route_params: dict[str, str], status: int
) -> None:
    run(gold_at(OLD), feed_stores.documents, {"mode": "incremental"})
    path = f"/v1/production/regional/{route_params['region_code']}/{route_params['date']}/revisions"
    got, headers, body = _get(make_request, path, route_params=route_params)
    assert got == status and headers["Content-Type"].startswith("application/problem+json") and body["request_id"]
