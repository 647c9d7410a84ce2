"""This app's devhost hooks: API keys, Gold commands, settings defaults, problem URNs, download links with CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import devhost_hooks
from bench.devhost_process import ApiKeys
from devhost.app_hooks import load_hooks
from devhost.cli import build_parser


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


@pytest.fixture
async def files_client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient[Any, Any]]:
    monkeypatch.setattr(devhost_hooks, "_embedded_files", lambda: None)  # downloads answer 404
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
