"""This app's devhost hooks: API keys, Gold commands, settings defaults, problem URNs, download links with CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devhost.app_hooks import load_hooks
from devhost.cli import build_parser
from devhost.testing import ApiKeys
from localdev import devhost_hooks
from stores.files_embedded import EmbeddedFileStore


def test_the_default_hooks_module_is_this_apps() -> None:
    assert load_hooks(None) is devhost_hooks.hooks


def test_api_keys_are_created_only_when_unset() -> None:
    env: dict[str, str] = {}
    keys = devhost_hooks.ensure_api_keys(env)
    assert set(keys) == {"reader", "operator"} and keys["reader"] != keys["operator"]
    expected = ApiKeys(reader=keys["reader"], operator=keys["operator"]).env_value
    assert env["API_KEYS"] == expected
    assert devhost_hooks.ensure_api_keys(env) == {} and env["API_KEYS"] == expected


def test_gold_import_of_a_bad_file_exits_non_zero_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not;an;eco2mix;file\n1;2;3;4\n")
    monkeypatch.setattr(devhost_hooks, "_gold_path", lambda: tmp_path / "gold.sqlite")
    args = build_parser(devhost_hooks.hooks).parse_args(["gold", "import", str(bad)])
    assert devhost_hooks.hooks.run_command(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_gold_commands_and_the_sample_option_are_parsed() -> None:
    parser = build_parser(devhost_hooks.hooks)
    gold = parser.parse_args(["gold", "sample", "--years", "2"])
    assert (gold.command, gold.gold_command, gold.years) == ("gold", "sample", 2)
    assert parser.parse_args(["serve", "--no-sample"]).sample is False
    assert devhost_hooks.hooks.run_command(parser.parse_args(["serve"])) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("MATERIALIZE_SCHEDULE", "0 */15 * * * *"), ("NOT_A_SETTING_XYZ", None)],
)
def test_settings_default_to_the_apps_typed_settings(name: str, expected: str | None) -> None:
    assert devhost_hooks.hooks.setting_default(name) == expected


def test_problem_types_are_the_apps_urns() -> None:
    assert devhost_hooks.hooks.problem_type("Method Not Allowed") == "urn:eco2mix:problem:method-not-allowed"


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("", ["*"]),
        (" ", ["*"]),
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example", "http://127.0.0.1:7071"]),
    ],
)
def test_download_origins_follow_the_exports_blob_rule(configured: str, expected: list[str]) -> None:
    assert devhost_hooks.files_cors_origins(configured, "http://127.0.0.1:7071") == expected


@asynccontextmanager
async def _hooks_client(
    monkeypatch: pytest.MonkeyPatch, files: EmbeddedFileStore | None
) -> AsyncIterator[TestClient[Any, Any]]:
    """The hooks' routes on a test server, downloading from `files` (None: downloads answer 404)."""
    monkeypatch.setattr(devhost_hooks, "_embedded_files", lambda: files)
    monkeypatch.setattr(
        devhost_hooks,
        "_allowed_origins",
        lambda: devhost_hooks.files_cors_origins("https://app.example", "http://self"),
    )
    app = web.Application()
    app.add_routes(devhost_hooks.hooks.routes(lambda status, title, detail: web.json_response({}, status=status)))
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    async with client:
        yield client


@pytest.fixture
async def files_client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient[Any, Any]]:
    async with _hooks_client(monkeypatch, None) as client:
        yield client


async def test_a_download_is_served_as_blob_storage_serves_a_blob(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = EmbeddedFileStore(tmp_path / "files", b"k" * 32, "http://self")
    data = bytes(range(256)) * 4096  # 1 MiB: a bulk file's size class
    store.put("all/2024/eco2mix_all_2024.csv", data, "text/csv")
    link = urlsplit(store.signed_url("all/2024/eco2mix_all_2024.csv", 60, "eco2mix_all_2024.csv"))
    path = f"{link.path}?{link.query}"
    async with _hooks_client(monkeypatch, store) as client:
        async with client.get(path, headers={"Origin": "https://app.example"}) as whole:
            assert whole.status == 200 and await whole.read() == data
            assert whole.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert whole.headers["Content-Disposition"] == 'attachment; filename="eco2mix_all_2024.csv"'
            assert whole.headers["Access-Control-Allow-Origin"] == "https://app.example"
            assert whole.headers["Accept-Ranges"] == "bytes" and "Content-Encoding" not in whole.headers
            etag, modified = whole.headers["ETag"], whole.headers["Last-Modified"]
        async with client.get(path, headers={"Range": "bytes=1000-1999"}) as part:  # a resumed download
            assert part.status == 206 and await part.read() == data[1000:2000]
            assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        for condition in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
            async with client.get(path, headers=condition) as same:
                assert same.status == 304 and await same.read() == b""
        async with client.head(path) as head:
            assert head.status == 200 and head.headers["Content-Length"] == str(len(data))


@pytest.mark.parametrize(
    ("method", "headers", "status", "allow_origin"),
    [
        ("GET", {"Origin": "https://app.example"}, 404, "https://app.example"),  # CORS on errors too, as Blob
        ("GET", {"Origin": "https://other.example"}, 404, None),
        ("GET", {}, 404, None),
        (
            "OPTIONS",
            {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
            200,
            "https://app.example",
        ),
        ("OPTIONS", {"Origin": "http://self", "Access-Control-Request-Method": "HEAD"}, 200, "http://self"),
        (
            "OPTIONS",
            {
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Range, If-None-Match",
            },
            200,
            "https://app.example",
        ),
        ("OPTIONS", {"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"}, 403, None),
        (
            "OPTIONS",
            {
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "X-Evil",
            },
            403,
            None,
        ),
        ("OPTIONS", {"Origin": "https://other.example", "Access-Control-Request-Method": "GET"}, 403, None),
    ],
)
async def test_download_links_answer_cors_and_preflights(
    files_client: TestClient[Any, Any],
    method: str,
    headers: dict[str, str],
    status: int,
    allow_origin: str | None,
) -> None:
    async with files_client.request(method, "/_files/11/2024/x.csv?sig=s", headers=headers) as response:
        assert response.status == status
        assert response.headers.get("Access-Control-Allow-Origin") == allow_origin
        if method == "OPTIONS" and status == 200:
            assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
            assert response.headers["Access-Control-Max-Age"] == "600"
