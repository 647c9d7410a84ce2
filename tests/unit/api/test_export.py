"""GET /v1/export/csv and /v1/export/parquet: one period, the format per route, 404 without data, 302."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import pandas as pd
import pytest

import api.export as export_module
from api.export import PARQUET_ROUTE, ROUTE, _handle, _handle_parquet, export_spec
from api.http import ApiError, Reply, RequestContext, Route
from api.params import ExportQuery, parse
from core.settings import Settings
from devhost.testing import ApiKeys
from domain.bulk_export import ExportSpec, Format
from stores.files_embedded import EmbeddedFileStore
from tests.support.api_documents import OPERATOR_KEY, READER_KEY, FakeStores, MakeRequest, respond_now, seed
from tests.support.fakes import MemoryDocuments, MemoryFiles
from tests.unit.api.test_http import assert_problem
from tests.unit.stores.test_files_embedded import fill_disk_for


@pytest.mark.parametrize(
    ("params", "route_format", "spec"),
    [
        ({"region_code": "32", "month": "2024-06"}, None, ExportSpec("csv", "2024-06", "32")),
        ({"region_code": "11", "date": "2024-03-31"}, None, ExportSpec("csv", "2024-03-31", "11")),
        ({"year": "2024"}, None, ExportSpec("csv", "2024", None)),
        ({"date": "2024-03-31", "format": "parquet"}, None, ExportSpec("parquet", "2024-03-31", None)),
        ({"region_code": "32", "year": "2024"}, "parquet", ExportSpec("parquet", "2024", "32")),
        ({"month": "2024-06", "format": "parquet"}, "parquet", ExportSpec("parquet", "2024-06", None)),
    ],
)
def test_the_query_names_one_file(params: dict[str, str], route_format: Format | None, spec: ExportSpec) -> None:
    assert export_spec(parse(ExportQuery, params), route_format) == spec


@pytest.mark.parametrize(
    ("params", "route_format", "status"),
    [
        ({"region_code": "32"}, None, 400),
        ({}, None, 400),
        ({"region_code": "32", "month": "2024-06", "date": "2024-06-01"}, None, 400),
        ({"month": "2024-06", "year": "2024"}, None, 400),
        ({"year": "24"}, None, 400),
        ({"year": "1999"}, None, 400),
        ({"year": "2024", "format": "xlsx"}, None, 400),
        ({"year": "2024", "format": "csv"}, "parquet", 400),
        ({"region_code": "00", "month": "2024-06"}, None, 400),  # a query value outside the enum
    ],
)
def test_bad_combinations(params: dict[str, str], route_format: Format | None, status: int) -> None:
    with pytest.raises(ApiError) as err:
        export_spec(parse(ExportQuery, params), route_format)
    assert err.value.status == status


@pytest.mark.parametrize(
    "spec",
    [ExportSpec("csv", "2024-06", "32"), ExportSpec("csv", "2024", None), ExportSpec("parquet", "2024-06-01", "32")],
)
def test_no_data_is_404(
    spec: ExportSpec, fake_stores: FakeStores, make_request: MakeRequest, settings: Settings
) -> None:
    params = {"date" if spec.period.count("-") == 2 else "month" if "-" in spec.period else "year": spec.period}
    params |= {"region_code": spec.region_code} if spec.region_code else {}
    route, handle = (PARQUET_ROUTE, _handle_parquet) if spec.fmt == "parquet" else (ROUTE, _handle)
    assert respond_now(make_request("GET", route.path, params=params), route, handle, settings).status_code == 404


def test_redirect_to_the_materialized_csv_with_the_configured_ttl(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings
) -> None:
    fake_stores.files.put("32/2024/eco2mix_32_2024-06.csv", b"\xef\xbb\xbfa;b\n", "text/csv")
    req = make_request("GET", ROUTE.path, params={"region_code": "32", "month": "2024-06"})
    resp = respond_now(req, ROUTE, _handle, settings)
    assert resp.status_code == 302
    assert resp.headers["Location"] == (
        f"memory://32/2024/eco2mix_32_2024-06.csv?ttl={settings.DOWNLOAD_TTL_SECONDS}&filename=eco2mix_32_2024-06.csv"
    )
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("route", "handle"), [(ROUTE, _handle), (PARQUET_ROUTE, _handle_parquet)])
@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_redirect_false_gives_the_signed_link_as_json(
    fake_stores: FakeStores,
    make_request: MakeRequest,
    settings: Settings,
    route: Route,
    handle: Callable[[RequestContext], Awaitable[Reply]],
    value: str,
) -> None:
    seed(fake_stores.documents, ["32"], ["2024-06"])  # the Parquet file is built from them
    fake_stores.files.put("32/2024/eco2mix_32_2024-06.csv", b"\xef\xbb\xbfa;b\n", "text/csv")  # materialized
    params = {"region_code": "32", "month": "2024-06"}
    redirected = respond_now(make_request("GET", route.path, params=params), route, handle, settings)
    before = datetime.now(UTC).replace(microsecond=0)
    resp = respond_now(make_request("GET", route.path, params={**params, "redirect": value}), route, handle, settings)
    assert resp.status_code == 200 and "Location" not in resp.headers
    assert resp.headers["Content-Type"] == "application/json" and resp.headers["Cache-Control"] == "no-store"
    body = json.loads(resp.get_body())
    assert set(body) == {"url", "expires_at"}
    assert body["url"] == redirected.headers["Location"]  # the same link the 302 names
    expires = datetime.fromisoformat(body["expires_at"])
    ttl = timedelta(seconds=settings.DOWNLOAD_TTL_SECONDS)
    assert before + ttl <= expires <= datetime.now(UTC) + ttl
    assert respond_now(make_request("GET", route.path, params={**params, "redirect": "true"}), route, handle,
                   settings).status_code == 302  # fmt: skip


def test_redirect_takes_only_a_boolean(fake_stores: FakeStores, make_request: MakeRequest, settings: Settings) -> None:
    params = {"region_code": "32", "month": "2024-06", "redirect": "sometimes"}
    resp = respond_now(make_request("GET", ROUTE.path, params=params), ROUTE, _handle, settings)
    assert resp.status_code == 400
    assert [e["parameter"] for e in json.loads(resp.get_body())["errors"]] == ["redirect"]


@pytest.mark.parametrize(
    ("route", "handle", "params", "download", "rows"),
    [
        (PARQUET_ROUTE, _handle_parquet, {"month": "2024-02"}, "eco2mix_all_2024-02.parquet", 2 * 29 * 48),
        (ROUTE, _handle, {"region_code": "93", "year": "2024", "format": "parquet"}, "eco2mix_93_2024.parquet", 1392),
        (ROUTE, _handle, {"year": "2024"}, "eco2mix_all_2024.csv", 2 * 29),
    ],
)
def test_bulk_files_are_built_then_redirected_to(
    fake_stores: FakeStores,
    make_request: MakeRequest,
    settings: Settings,
    route: Route,
    handle: Callable[[RequestContext], Awaitable[Reply]],
    params: dict[str, str],
    download: str,
    rows: int,
) -> None:
    seed(fake_stores.documents, ["11", "93"], ["2024-02"])
    resp = respond_now(make_request("GET", route.path, params=params), route, handle, settings)
    assert resp.status_code == 302 and resp.headers["Cache-Control"] == "no-store"
    location = urlsplit(resp.headers["Location"])
    assert parse_qs(location.query)["filename"] == [download]
    data = fake_stores.files.read(location.netloc + location.path)
    assert data is not None
    if download.endswith(".parquet"):
        assert len(pd.read_parquet(io.BytesIO(data))) == rows
    else:
        assert data.count(b"\r\n") == rows + 1
    again = respond_now(make_request("GET", route.path, params=params), route, handle, settings)
    assert again.headers["Location"] == resp.headers["Location"]


@pytest.mark.parametrize("params", [{"year": "2024", "format": "csv"}, {"year": "2024", "month": "2024-01"}])
def test_the_parquet_route_refuses_what_it_cannot_serve(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings, params: dict[str, str]
) -> None:
    resp = respond_now(make_request("GET", PARQUET_ROUTE.path, params=params), PARQUET_ROUTE, _handle_parquet, settings)
    assert resp.status_code == 400 and resp.headers["Content-Type"].startswith("application/problem+json")


async def test_the_query_is_parsed_once_per_request(
    monkeypatch: pytest.MonkeyPatch, make_request: MakeRequest, documents: MemoryDocuments, settings: Settings
) -> None:
    """Parsed once, inside the envelope (its 400 after the key check)."""
    files = MemoryFiles()
    files.put("32/2024/eco2mix_32_2024-06.csv", b"\xef\xbb\xbfa;b\n", "text/csv")
    stores = FakeStores(documents, files)
    monkeypatch.setattr("stores.factory.get_read_stores", lambda: stores)
    monkeypatch.setattr("api.http.get_settings", lambda: settings)
    parsed: list[object] = []
    real_parse = export_module.parse

    def counting_parse(model: Any, values: Any, what: str = "query") -> Any:
        parsed.append(values)
        return real_parse(model, values, what)

    monkeypatch.setattr("api.export.parse", counting_parse)
    for params, status, parses in (
        ({"region_code": "32", "month": "2024-06"}, 302, 1),
        ({"region_code": "32", "month": "June"}, 400, 1),
    ):
        parsed.clear()
        resp = await export_module.export_csv(make_request("GET", ROUTE.path, params=params))
        assert (resp.status_code, len(parsed)) == (status, parses)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_on_export_is_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch, make_request: MakeRequest, documents: MemoryDocuments, tmp_path: Path
) -> None:
    """A bulk export built on a full disk: 503 problem+json with Retry-After, not a 500."""
    seed(documents, ["11"], ["2024-02"])
    settings = Settings(
        API_KEYS=ApiKeys(reader=READER_KEY, operator=OPERATOR_KEY).env_value, STORE_RETRY_AFTER_SECONDS=11
    )

    async def on_this_thread(fn: Any, *args: Any) -> Any:  # the temp file's name holds the writing thread's id
        return fn(*args)

    monkeypatch.setattr("asyncio.to_thread", on_this_thread)

    def export(files: EmbeddedFileStore) -> func.HttpResponse:
        monkeypatch.setattr("stores.factory.get_read_stores", lambda: FakeStores(documents, files))
        return respond_now(make_request("GET", ROUTE.path, params={"year": "2024"}), ROUTE, _handle, settings)

    # The file's (versioned) name, from the same export on a disk with room.
    probe = export(EmbeddedFileStore(tmp_path / "probe", b"k" * 32, "http://127.0.0.1:7071"))
    name = urlsplit(probe.headers["Location"]).path.removeprefix("/_files/")
    files = EmbeddedFileStore(tmp_path / "files", b"k" * 32, "http://127.0.0.1:7071")
    fill_disk_for(files, name)
    resp = export(files)
    body = assert_problem(resp, 503)
    assert resp.headers["Retry-After"] == "11"
    assert body["type"] == "urn:eco2mix:problem:store-unavailable" and "files" in body["detail"]
