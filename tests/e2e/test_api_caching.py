"""ETag / If-None-Match / Cache-Control by finality, and gzip, over HTTP."""

from __future__ import annotations

import gzip

import pytest

from tests.support.e2e_api import Api

pytestmark = pytest.mark.e2e

DAY = "/v1/production/regional/76/2024-05-14"
RANGE_PARAMS = {"region_code": "76", "start_date": "2024-05-01", "end_date": "2024-05-31", "limit": "100"}


def test_day_etag_then_304(api: Api) -> None:
    first = api.get(DAY)
    doc = first.json()
    etag = first.headers["ETag"]
    assert etag == f'"{doc["content_hash"]}-gzip"'  # requests asks for gzip: the gzip form's own tag
    expected = "private, max-age=31536000, immutable" if doc["final"] else "private, max-age=300"
    assert first.headers["Cache-Control"] == expected
    again = api.get(DAY, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == expected
    assert api.get(DAY, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_range_etag_then_304_and_short_cache(api: Api) -> None:
    first = api.get("/v1/production/regional", params=RANGE_PARAMS)
    assert first.headers["Cache-Control"] == "private, max-age=300"
    again = api.get("/v1/production/regional", params=RANGE_PARAMS, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other_page = api.get("/v1/production/regional", params={**RANGE_PARAMS, "offset": "100"})
    assert other_page.headers["ETag"] != first.headers["ETag"]


def test_gzip_only_when_asked(api: Api) -> None:
    plain = api.get(DAY, headers={"Accept-Encoding": "identity"}, stream=True)
    assert "Content-Encoding" not in plain.headers
    raw_plain = plain.raw.read()
    zipped = api.get(DAY, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    raw_zipped = zipped.raw.read(decode_content=False)
    assert gzip.decompress(raw_zipped) == raw_plain and len(raw_zipped) < len(raw_plain) / 3


def test_gzip_form_has_its_own_etag_and_its_304_keeps_vary(api: Api) -> None:
    plain = api.get(DAY, headers={"Accept-Encoding": "identity"})
    zipped = api.get(DAY, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    for tag in (plain.headers["ETag"], zipped.headers["ETag"]):
        again = api.get(DAY, headers={"Accept-Encoding": "gzip", "If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["ETag"] == zipped.headers["ETag"]
        assert again.headers["Vary"] == zipped.headers["Vary"] and "Accept-Encoding" in again.headers["Vary"]
        assert again.headers["Cache-Control"] == zipped.headers["Cache-Control"].replace("public", "private")
        assert not again.headers.get("Content-Type", "").startswith("text/plain")
