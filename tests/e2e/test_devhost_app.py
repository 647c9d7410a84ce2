"""The real function_app.py on devhost: every HTTP function is routed, downloads are signed and checked."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.e2e_api import DevhostServer

pytestmark = pytest.mark.e2e


def test_every_http_function_of_the_app_is_served(devhost_server: DevhostServer) -> None:
    import function_app
    from devhost.functions import describe_app

    http = [f for f in describe_app(function_app.app) if f["trigger"] == "httpTrigger"]
    assert http, "the app has HTTP functions"
    for function in http:
        path = "/" + re.sub(r"\{[^}]+\}", "x", function["route"]).replace("/x?", "")
        method = (function["methods"] or ["GET"])[0]
        response = requests.request(method, devhost_server.base_url + path, timeout=30)
        # Routed to the app and answered by it: never devhost's "No function serves" 404, and never a 5xx
        # (devhost's own 500 says the function failed; the app answers these bare requests with 2xx-4xx).
        assert "No function serves" not in response.text, (function["name"], path)
        assert response.status_code < 500, (function["name"], path, response.status_code, response.text[:300])
        assert response.headers.get("X-Request-ID"), (function["name"], path)


def test_materialized_csv_download_is_signed(devhost_server: DevhostServer) -> None:
    headers = {"X-API-Key": devhost_server.reader_key}
    redirect = requests.get(
        f"{devhost_server.base_url}/v1/export/csv",
        params={"region_code": "11", "date": "2024-05-01"},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
    assert redirect.status_code == 302
    link = redirect.headers["Location"]
    assert link.startswith(f"{devhost_server.base_url}/_files/")
    download = requests.get(link, timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert download.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    tampered = requests.get(link.replace("sig=", "sig=0"), timeout=30)
    assert tampered.status_code == 403 and tampered.json()["status"] == 403
    assert requests.get(f"{devhost_server.base_url}/_files/nope.csv", timeout=30).status_code == 403
