"""GET /explorer and its assets: served by the app, strict Content-Security-Policy, only /v1 reads."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.assets import asset_bytes
from api.explorer import ASSET_ROUTE, ASSETS, PAGE, PAGE_ROUTE, _asset, _page, download_origins
from api.http import respond
from core.settings import Settings
from tests.support.api_documents import MakeRequest


def test_page_sets_a_strict_policy_and_loads_only_its_assets(make_request: MakeRequest, settings: Settings) -> None:
    resp = respond(make_request("GET", PAGE_ROUTE.path, key=None), PAGE_ROUTE, _page, settings)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["connect-src"] == f"'self' {settings.PUBLIC_BASE_URL}" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    urls = re.findall(r'(?:src|href)="([^"]+)"', resp.get_body().decode())
    assert {u for u in urls if u.startswith("/explorer/")} == {f"/explorer/assets/{name}" for name in ASSETS}
    assert all(u.startswith(("/explorer/", "/v1/")) or u == "data:," for u in urls)


@pytest.mark.parametrize(
    ("asset", "status", "content_type"),
    [
        ("explorer.js", 200, "text/javascript"),
        ("explorer.css", 200, "text/css"),
        ("plotly.min.js", 200, "text/javascript"),
        ("explorer.html", 404, "application/problem+json"),
        ("..%2Fhttp.py", 404, "application/problem+json"),
        ("plotly.js", 404, "application/problem+json"),
    ],
)
def test_assets(make_request: MakeRequest, settings: Settings, asset: str, status: int, content_type: str) -> None:
    req = make_request("GET", f"/explorer/assets/{asset}", route_params={"asset": asset}, key=None)
    resp = respond(req, ASSET_ROUTE, _asset, settings)
    assert resp.status_code == status and resp.headers["Content-Type"].startswith(content_type)


def test_the_charting_library_is_the_pinned_package_s_plotly_js() -> None:
    library = asset_bytes(ASSETS["plotly.min.js"])
    assert library.startswith(b"/**\n* plotly.js v") and len(library) > 1_000_000


def test_the_script_reads_only_the_public_v1_api_and_keeps_the_key_in_the_session() -> None:
    script = asset_bytes(ASSETS["explorer.js"]).decode()
    paths = set(re.findall(r"[`\"'](/[a-z0-9_/.-]+)", script))
    assert paths == {
        "/v1/production/regional",
        "/v1/regions",
        "/v1/export/csv",
        "/v1/export/parquet",
        "/v1/forecast/regional/",
        "/v1/intensity/greenest-window",
        "/v1/methodologies",
    }
    assert "sessionStorage" in script and "localStorage" not in script
    assert "http://" not in script and "https://" not in script


def test_every_control_has_a_label() -> None:
    html = asset_bytes(PAGE).decode()
    controls = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert controls and set(controls) <= labelled


@pytest.mark.parametrize(
    ("env", "origins"),
    [
        ({}, ("http://127.0.0.1:7071",)),
        ({"PUBLIC_BASE_URL": "http://localhost:8080/"}, ("http://localhost:8080",)),
        ({"BLOB_ACCOUNT_URL": "https://acct.blob.core.windows.net/"}, ("https://acct.blob.core.windows.net",)),
        (
            {"BLOB_CONNECTION_STRING": "AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:10000/a;"},
            ("http://127.0.0.1:10000",),
        ),
        ({"BLOB_CONNECTION_STRING": "AccountName=a;AccountKey=k"}, ()),
    ],
)
def test_the_page_may_fetch_only_from_where_exports_redirect(env: dict[str, str], origins: tuple[str, ...]) -> None:
    base = {"BLOB_ACCOUNT_URL": None, "BLOB_CONNECTION_STRING": None, "PUBLIC_BASE_URL": "http://127.0.0.1:7071"}
    assert download_origins(Settings(**(base | env))) == origins  # type: ignore[arg-type]


def test_assets_revalidate_with_their_etag(make_request: MakeRequest, settings: Settings) -> None:
    def get(headers: dict[str, str]) -> Any:
        req = make_request(
            "GET", "/explorer/assets/plotly.min.js", route_params={"asset": "plotly.min.js"}, key=None, headers=headers
        )
        return respond(req, ASSET_ROUTE, _asset, settings)

    first = get({})
    assert first.status_code == 200 and first.headers["ETag"].startswith('"')
    again = get({"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_body() == b""
