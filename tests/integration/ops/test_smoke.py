"""ops.smoke's checks against a small aiohttp server that answers like the API, broken one way per case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from ops.smoke import CSV_BOM, parse_args, run_checks

GOOD_CSV = CSV_BOM + "Région;Date;Heure\nIle-de-France;2024-05-14;00:00\n".encode()
Serve = Callable[[web.Application], Awaitable[str]]


def instance(csv_body: bytes = GOOD_CSV, health_status: str = "ok", export_status: int = 302) -> web.Application:
    app = web.Application()

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": health_status, "stores": {"documents": {"status": health_status}}})

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response({"openapi": "3.1.0", "paths": {"/v1/production/regional": {}}})

    async def regions(_: web.Request) -> web.Response:
        return web.json_response({"items": [{"code": "11", "last_day": "2024-05-14"}]})

    async def day(_: web.Request) -> web.Response:
        return web.json_response({"region_code": "11", "date": "2024-05-14", "intervals": [{}]})

    async def range_(_: web.Request) -> web.Response:
        return web.json_response({"items": [{}], "total": 1})

    async def export(request: web.Request) -> web.Response:
        location = str(request.url.with_path("/file.csv").with_query({}))
        return web.Response(status=export_status, headers={"Location": location})

    async def file(request: web.Request) -> web.Response:
        if "X-API-Key" in request.headers:  # the signed link must not receive the key
            return web.Response(status=400)
        return web.Response(body=csv_body, content_type="text/csv")

    app.router.add_get("/v1/health", health)
    app.router.add_get("/v1/openapi.json", openapi)
    app.router.add_get("/v1/regions", regions)
    app.router.add_get("/v1/production/regional/11/2024-05-14", day)
    app.router.add_get("/v1/production/regional", range_)
    app.router.add_get("/v1/export/csv", export)
    app.router.add_get("/file.csv", file)
    return app


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_every_check_passes_on_a_good_instance(serve: Serve) -> None:
    url = await serve(instance())
    results = await run_checks(url, "key")
    assert [(r.name, r.ok) for r in results] == [
        (name, True) for name in ("health", "openapi", "regions", "point", "range", "csv")
    ]


@pytest.mark.parametrize(
    ("broken", "failing"),
    [
        ({"csv_body": GOOD_CSV[len(CSV_BOM) :]}, {"csv"}),  # no BOM
        ({"csv_body": GOOD_CSV.replace(b";", b",")}, {"csv"}),  # not ';'
        ({"csv_body": CSV_BOM + b"a;b\n"}, {"csv"}),  # header only
        ({"export_status": 200}, {"csv"}),  # no redirect
        ({"health_status": "degraded"}, {"health"}),
    ],
)
async def test_a_broken_part_fails_its_check_only(serve: Serve, broken: dict[str, Any], failing: set[str]) -> None:
    url = await serve(instance(**broken))
    results = await run_checks(url, "key")
    assert {r.name for r in results if not r.ok} == failing
    assert all(r.line().startswith("FAIL" if r.name in failing else "ok") for r in results)


@pytest.mark.parametrize("key", ["-ocC0SgtwSY4LlcHoUauFuGRSdkgd5i1", "-", "plain_key"])
def test_a_key_that_begins_with_a_dash_is_read_whole_as_documented(key: str) -> None:
    assert parse_args(["--url=http://127.0.0.1:1", f"--key={key}"]).key == key
