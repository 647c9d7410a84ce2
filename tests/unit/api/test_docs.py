"""GET /v1/docs and its assets: self-contained, nothing loaded from another host."""

from __future__ import annotations

import re

import pytest

from api.docs import ASSET_ROUTE, ASSETS, DOCS_ROUTE, _asset, _page
from api.http import respond
from stores.settings import Settings
from tests.unit.api.conftest import MakeRequest


def test_page_references_only_local_assets(make_request: MakeRequest, settings: Settings) -> None:
    resp = respond(make_request("GET", DOCS_ROUTE.path, key=None), DOCS_ROUTE, _page, settings)
    html = resp.get_body().decode()
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/v1/") for u in urls)


@pytest.mark.parametrize(("asset", "status"), [*((name, 200) for name in ASSETS), ("../http.py", 404), ("x.js", 404)])
def test_assets(make_request: MakeRequest, settings: Settings, asset: str, status: int) -> None:
    req = make_request("GET", f"/v1/docs/assets/{asset}", route_params={"asset": asset}, key=None)
    resp = respond(req, ASSET_ROUTE, _asset, settings)
    assert resp.status_code == status
    if status == 200:
        assert "http://" not in resp.get_body().decode() and "https://" not in resp.get_body().decode()
