"""Requests aiohttp cannot parse get the host's problem+json with a request id, not aiohttp's plain text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial

import pytest
from aiohttp import web

from devhost.app_hooks import AppHooks
from devhost.host import free_port
from devhost.protocol_errors import ProblemAppRunner
from devhost.server import problem
from tests.support.raw_http import exchange

UNPARSEABLE = {
    "invalid bytes in the path": b"GET /v1/\xff\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "invalid bytes in the method": b"G\xffT /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
    "header line too long": b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
    "not HTTP at all (a TLS hello)": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
}


class _Hooks(AppHooks):
    def problem_type(self, title: str) -> str:
        return "urn:test:" + title.lower().replace(" ", "-")


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("a route that fails outside any function")


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/boom", _boom)
    runner = ProblemAppRunner(app, problem_of=partial(problem, _Hooks()), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("raw", UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
async def test_unparseable_request_is_a_400_problem(base_url: str, raw: bytes) -> None:
    response = await asyncio.to_thread(exchange, base_url, raw)
    assert response.status == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400 and body["title"] == "Bad Request" and body["type"] == "urn:test:bad-request"
    assert body["request_id"] == response.headers["x-request-id"] and len(body["request_id"]) == 32
    assert b"\\xff" not in response.body and b"aaaa" not in response.body  # the raw input is not echoed


async def test_a_handler_failure_outside_the_functions_is_a_500_problem(base_url: str) -> None:
    response = await asyncio.to_thread(exchange, base_url, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 500 and response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert b"Traceback" not in response.body and b"a route that fails" not in response.body


async def test_a_good_request_is_untouched(base_url: str) -> None:
    response = await asyncio.to_thread(exchange, base_url, b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (response.status, response.body) == (200, b"ok")
