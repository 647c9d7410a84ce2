"""GET /v1/docs and its assets: Swagger UI from its pinned package, nothing loaded from another host."""

from __future__ import annotations

import gzip
import hashlib
import re

import azure.functions as func
import orjson
import pytest

from api import docs
from api.docs import ASSET_ROUTE, ASSETS, DOCS_ROUTE, OPENAPI_ROUTE, _asset, _openapi, _page
from api.http import respond
from core.settings import Settings
from tests.support.api_documents import MakeRequest


def test_page_references_only_local_assets_under_a_strict_policy(make_request: MakeRequest, settings: Settings) -> None:
    resp = respond(make_request("GET", DOCS_ROUTE.path, key=None), DOCS_ROUTE, _page, settings)
    html = resp.get_body().decode()
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {u for u in urls if u.startswith("/")} == {f"/v1/docs/assets/{name}" for name in ASSETS}
    assert all(u.startswith("/v1/") or u == "data:," for u in urls)
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "unsafe" not in policy


@pytest.mark.parametrize(
    ("asset", "status", "content_type"),
    [
        ("docs.js", 200, "text/javascript"),
        ("swagger-ui-bundle.js", 200, "text/javascript"),
        ("swagger-ui.css", 200, "text/css"),
        ("docs.css", 404, "application/problem+json"),
        ("../http.py", 404, "application/problem+json"),
        ("swagger-ui-bundle.js.map", 404, "application/problem+json"),
    ],
)
def test_assets(make_request: MakeRequest, settings: Settings, asset: str, status: int, content_type: str) -> None:
    req = make_request("GET", f"/v1/docs/assets/{asset}", route_params={"asset": asset}, key=None)
    resp = respond(req, ASSET_ROUTE, _asset, settings)
    assert resp.status_code == status and resp.headers["Content-Type"].startswith(content_type)
    if status == 200:
        assert len(resp.get_body()) > 300


def test_initializer_uses_the_served_document_and_stores_no_key() -> None:
    from api.assets import asset_bytes

    script = asset_bytes(ASSETS["docs.js"]).decode()
    assert 'url: "/v1/openapi.json"' in script and "persistAuthorization" not in script


def test_the_openapi_answer_is_made_once_with_an_etag_and_a_kept_gzip_form(
    make_request: MakeRequest, settings: Settings
) -> None:
    def get(**headers: str) -> func.HttpResponse:
        req = make_request("GET", OPENAPI_ROUTE.path, headers=headers, key=None)
        return respond(req, OPENAPI_ROUTE, _openapi, settings)

    published = docs._Published.operations
    try:
        docs.publish(docs.OPERATIONS)  # this module's operations: a small document, made anew
        plain = get()
        kept = docs._Published.answer
        zipped, zipped_again = get(**{"Accept-Encoding": "gzip"}), get(**{"Accept-Encoding": "gzip"})
        assert docs._Published.answer is kept  # not serialized again
        assert orjson.loads(plain.get_body()) == docs.published_document()
        assert gzip.decompress(zipped.get_body()) == plain.get_body()
        assert zipped.get_body() == zipped_again.get_body() and zipped.headers["Content-Encoding"] == "gzip"
        assert plain.headers["ETag"] == f'"{hashlib.sha256(plain.get_body()).hexdigest()[:32]}"'
        assert get(**{"If-None-Match": plain.headers["ETag"]}).status_code == 304
        assert get(**{"If-None-Match": zipped.headers["ETag"]}).status_code == 304
        docs.publish(docs.OPERATIONS[:1])  # published again: a new document, a new ETag
        assert get().headers["ETag"] != plain.headers["ETag"]
    finally:
        docs.publish(published)
