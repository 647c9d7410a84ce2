"""Every /v1 route over real HTTP against devhost, on the materialized 2024 sample data."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from domain.regions import REGIONS
from domain.sources import ALL_SOURCES
from tests.support.e2e_api import SAMPLE_STALE_AFTER_SECONDS, Api, assert_problem

pytestmark = pytest.mark.e2e


def test_health_is_public(api: Api) -> None:
    resp = api.get("/v1/health", role=None)
    assert resp.status_code == 200
    body = resp.json()
    # the stores' detail is for operators
    assert body["status"] == "ok" and set(body) == {
        "status",
        "materialization",
        "checks",
    }  # the stores' detail: operators
    lag = body["materialization"]  # the sample was materialized at start: a watermark with a real age
    assert lag["watermark"] and isinstance(lag["lag_seconds"], float) and lag["lag_seconds"] >= 0
    freshness = body["checks"]["freshness"]  # the 2024 sample is years old: this devhost allows years
    assert freshness["status"] == "ok" and freshness["newest_interval"] == "2024-12-31T23:30:00+01:00"
    assert freshness["stale_after_seconds"] == int(SAMPLE_STALE_AFTER_SECONDS) and freshness["age_seconds"] > 86400


def test_health_detail_is_for_operators(api: Api) -> None:
    assert api.get("/v1/admin/health", role=None).status_code == 401
    assert api.get("/v1/admin/health", role="reader").status_code == 403
    body = api.get("/v1/admin/health", role="operator").json()
    assert body["status"] == "ok" and {"documents", "files"} <= set(body["stores"])
    assert all(s["status"] == "ok" and s["backend"] == "embedded" for s in body["stores"].values())


def test_regions_lists_the_12_and_fr_with_their_2024_days(api: Api) -> None:
    body = api.get("/v1/regions").json()
    assert [r["code"] for r in body["items"]] == [*(r.code for r in REGIONS), "FR"]
    for region in body["items"]:
        assert region["first_day"] <= "2024-01-01" and region["last_day"] >= "2024-12-31"


@pytest.mark.parametrize(
    ("day", "halves", "hours"), [("2024-03-31", 46, 23), ("2024-10-27", 50, 25), ("2024-06-12", 48, 24)]
)
def test_day_point_read_has_the_days_real_interval_count(api: Api, day: str, halves: int, hours: int) -> None:
    resp = api.get(f"/v1/production/regional/11/{day}")
    assert resp.status_code == 200
    doc = resp.json()
    assert (doc["region_code"], doc["date"], doc["interval_count"]) == ("11", day, halves)
    assert len(doc["intervals"]) == halves and len(doc["hourly"]) == hours
    assert resp.headers["ETag"] == f'"{doc["content_hash"]}-gzip"'  # requests asks for gzip
    stamps = [i["timestamp"] for i in doc["intervals"]]
    assert len(set(stamps)) == halves and all(s[-6] in "+-" for s in stamps)  # ISO 8601 with offset


def test_31_days_hourly_for_one_region_in_pages(api: Api) -> None:
    params: dict[str, Any] = {"region_code": "93", "start_date": "2024-07-01", "end_date": "2024-07-31", "limit": 500}
    first = api.get("/v1/production/regional", params=params)
    assert first.status_code == 200
    body = first.json()
    assert body["total"] == 31 * 24 and body["count"] == 500
    assert body["units"]["power"] == "MW" and body["units"]["carbon_intensity"] == "gCO2eq/kWh"
    item = body["items"][0]
    assert item["timestamp"] == "2024-07-01T00:00:00+02:00" and item["region_name"] == "Provence-Alpes-Côte d'Azur"
    assert {
        "region",
        "production_mw",
        "consumption_mw",
        "sources",
        "facteur_charge",
        "carbon_intensity_g_per_kwh",
    } <= set(item)
    assert item["sources"].get("nucleaire") is None  # PACA has no nuclear plant: missing, never zero
    nxt = requests.get(body["next"], headers=api.key("reader"), timeout=30).json()
    assert nxt["offset"] == 500 and nxt["count"] == 31 * 24 - 500 and nxt["next"] is None
    assert {i["timestamp"] for i in body["items"]}.isdisjoint(i["timestamp"] for i in nxt["items"])


def test_all_regions_one_day_hourly(api: Api) -> None:
    body = api.get("/v1/production/regional", params={"start_date": "2024-10-27", "end_date": "2024-10-27"}).json()
    assert body["total"] == 12 * 25
    assert [i["region"] for i in body["items"][::25]] == [r.code for r in REGIONS]


def test_a_year_of_days_with_energy(api: Api) -> None:
    params = {
        "region_code": "32",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "granularity": "day",
        "limit": 5000,
    }
    body = api.get("/v1/production/regional", params=params).json()
    assert body["total"] == 366 and body["next"] is None
    by_date = {i["date"]: i for i in body["items"]}
    assert by_date["2024-03-31"]["interval_count"] == 46 and by_date["2024-10-27"]["interval_count"] == 50
    day = api.get("/v1/production/regional/32/2024-03-31").json()
    assert by_date["2024-03-31"]["energy_mwh"] == day["totals"]["energy_mwh"]
    assert by_date["2024-03-31"]["timestamp"] == "2024-03-31T00:00:00+01:00"


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_source_type_filter(api: Api, source: str) -> None:
    params = {
        "region_code": "84",
        "start_date": "2024-05-01",
        "end_date": "2024-05-01",
        "source_type": source,
        "granularity": "30min",
    }
    body = api.get("/v1/production/regional", params=params).json()
    assert body["total"] == 48 and body["source_type"] == source
    assert all(list(i["sources"]) == [source] for i in body["items"])


@pytest.mark.parametrize(
    ("params", "file_name"),
    [({"date": "2024-03-31"}, "eco2mix_32_2024-03-31.csv"), ({"month": "2024-06"}, "eco2mix_32_2024-06.csv")],
)
def test_export_redirects_to_a_csv_download(api: Api, params: dict[str, str], file_name: str) -> None:
    resp = api.get("/v1/export/csv", params={"region_code": "32", **params})
    assert resp.status_code == 302 and resp.headers["Cache-Control"] == "no-store"
    download = requests.get(resp.headers["Location"], timeout=30)  # the link itself is the credential
    assert download.status_code == 200
    assert file_name in download.headers.get("Content-Disposition", "")
    data = download.content
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").splitlines()
    assert ";" in lines[0] and len(lines) > 1  # a header row, then data


def test_openapi_and_docs_are_public(api: Api) -> None:
    doc = api.get("/v1/openapi.json", role=None).json()
    assert doc["openapi"] == "3.1.0" and "/v1/production/regional" in doc["paths"]
    page = api.get("/v1/docs", role=None)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for asset in ("docs.js", "swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.get(f"/v1/docs/assets/{asset}", role=None).status_code == 200
    page = api.get("/explorer", role=None)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("explorer.js", "explorer.css", "plotly.min.js"):
        assert api.get(f"/explorer/assets/{asset}", role=None).status_code == 200


def _wait(api: Api, location: str, states: set[str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(location, role="operator").json()
        if body["runtime_status"] in states or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_backfill_start_is_idempotent_reports_progress_and_completes(api: Api) -> None:
    request = {"start_date": "2024-02-01", "end_date": "2024-02-03", "region_codes": ["53", "11"]}
    first = api.call("POST", "/v1/admin/backfills", role="operator", json=request)
    assert first.status_code == 202
    location = first.headers["Location"]
    body = first.json()
    assert location == f"/v1/admin/backfills/{body['id']}" and body["links"]["self"].endswith(location)
    same = api.call("POST", "/v1/admin/backfills", role="operator", json={**request, "region_codes": ["11", "53"]})
    assert same.status_code == 202 and same.json()["id"] == body["id"]
    done = _wait(api, location, {"Completed", "Failed", "Terminated"})
    assert done["runtime_status"] == "Completed", done
    assert done["progress"]["done"] == done["progress"]["total"]
    assert done["request"] == {"start_date": "2024-02-01", "end_date": "2024-02-03", "region_codes": ["11", "53"]}
    assert done["output"] is not None
    deleted = api.call("DELETE", location, role="operator")  # an ended run: purged at once
    assert deleted.status_code == 204 and deleted.content == b"", deleted.text
    assert_problem(api.call("GET", location, role="operator"), 404)


def test_backfill_terminate(api: Api) -> None:
    resp = api.call(
        "POST",
        "/v1/admin/backfills",
        role="operator",
        json={"start_date": "2024-01-01", "end_date": "2024-12-31", "region_codes": ["27"]},
    )
    assert resp.status_code == 202
    location = resp.headers["Location"]
    deleted = api.call("DELETE", location, role="operator")  # a running one: terminated, then purged
    assert deleted.status_code == 204, deleted.text
    assert_problem(api.call("GET", location, role="operator"), 404)
    assert_problem(api.call("DELETE", location, role="operator"), 404)


LINKED = [
    ("/v1/production/regional?region_code=11&start_date=2024-01-01&end_date=2024-01-02&limit=5", "reader"),
    ("/v1/changes?limit=2", "reader"),
    ("/v1/admin/backfills?limit=1", "operator"),
]


def _links(body: Any) -> list[str]:
    """Every `next`, `self`, `href`, `terminate` link of a body, however deep."""
    found: list[str] = []
    if isinstance(body, dict):
        for name, value in body.items():
            if name in ("next", "self", "href", "terminate") and isinstance(value, str):
                found.append(value)
            else:
                found += _links(value)
    elif isinstance(body, list):
        for value in body:
            found += _links(value)
    return found


@pytest.mark.parametrize(("path", "role"), LINKED)
def test_links_ignore_request_host(api: Api, path: str, role: str) -> None:
    """A caller's Host header never becomes our link: behind the gateway it names the Function App, and anyone may
    send `Host: evil.example`. Without API_PUBLIC_URL a link is then relative (a path), on a loopback host absolute."""
    evil = api.get(path, role=role, headers={"Host": "evil.example"})
    assert evil.status_code == 200, evil.text
    assert "evil.example" not in evil.text and "evil.example" not in evil.headers.get("Location", "")
    links = _links(evil.json())
    assert links and all(link.startswith("/v1/") for link in links), links
    own = api.get(path, role=role)  # devhost's own loopback address: the same links, absolute
    assert _links(own.json()) == [api.server.base_url + link for link in links]
