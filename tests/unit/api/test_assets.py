"""Static pages and files (api/assets.py): the bytes as they are, their ETag, and a gzip form made once per
worker rather than per request."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import pytest

from api import caching, docs, explorer
from api.assets import Asset, asset_bytes, asset_gzip
from api.http import Reply, RequestContext, Route, respond
from core.settings import Settings
from tests.support.api_documents import MakeRequest

Handler = Callable[[RequestContext], Reply]
# (route, handler, the file it answers, its route parameters): every page and file of both pages.
CASES: list[tuple[Route, Handler, Asset, dict[str, str]]] = [
    (docs.DOCS_ROUTE, docs._page, docs.PAGE, {}),
    (explorer.PAGE_ROUTE, explorer._page, explorer.PAGE, {}),
    *((docs.ASSET_ROUTE, docs._asset, asset, {"asset": name}) for name, asset in docs.ASSETS.items()),
    *((explorer.ASSET_ROUTE, explorer._asset, asset, {"asset": name}) for name, asset in explorer.ASSETS.items()),
]


def _get(make_request: MakeRequest, settings: Settings, case: tuple[Any, ...], **headers: str) -> Any:
    route, handler, _, route_params = case
    req = make_request("GET", route.path, route_params=route_params, headers=headers, key=None)
    return respond(req, route, handler, settings)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case[2].path)
def test_the_gzip_form_is_the_file_compressed_once(
    make_request: MakeRequest, settings: Settings, case: tuple[Any, ...]
) -> None:
    asset = case[2]
    asset_gzip.cache_clear()
    plain = _get(make_request, settings, case)
    first, second = (_get(make_request, settings, case, **{"Accept-Encoding": "gzip"}) for _ in range(2))
    assert plain.get_body() == asset_bytes(asset) and "Content-Encoding" not in plain.headers
    info = asset_gzip.cache_info()
    if len(asset_bytes(asset)) <= caching.GZIP_MIN_BYTES:  # too small to be worth it: sent as it is
        assert first.get_body() == asset_bytes(asset) and "Content-Encoding" not in first.headers
        assert info.misses == 0
        return
    for resp in (first, second):
        assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(resp.get_body()) == asset_bytes(asset)
        assert resp.headers["Content-Type"] == plain.headers["Content-Type"]
        assert "Accept-Encoding" in resp.headers["Vary"]
    assert first.get_body() == second.get_body()
    assert (info.misses, info.hits) == (1, 1)  # made by the first gzip answer, kept for the second


FILES_SENT_COMPRESSED = [c for c in CASES if c[3] and len(asset_bytes(c[2])) > caching.GZIP_MIN_BYTES]


@pytest.mark.parametrize("case", FILES_SENT_COMPRESSED, ids=lambda case: case[2].path)
def test_a_file_revalidates_with_either_form_of_its_etag(
    make_request: MakeRequest, settings: Settings, case: tuple[Any, ...]
) -> None:
    plain = _get(make_request, settings, case)
    zipped = _get(make_request, settings, case, **{"Accept-Encoding": "gzip"})
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    for tag in (plain.headers["ETag"], zipped.headers["ETag"]):
        again = _get(make_request, settings, case, **{"If-None-Match": tag, "Accept-Encoding": "gzip"})
        assert again.status_code == 304 and again.get_body() == b""
