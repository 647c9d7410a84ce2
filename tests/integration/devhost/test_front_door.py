"""The front door: HTTP-trigger requests skip aiohttp's router, and every other request is answered as before."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import aiohttp
import pytest
from aiohttp import web

from devhost.app_hooks import AppHooks
from devhost.host import free_port
from devhost.protocol_errors import ProblemAppRunner
from devhost.server import FUNCTIONS, front_door, problem

Serve = Callable[[list[str]], Awaitable[tuple[str, list[str]]]]  # explicit routes -> base URL, ways taken


def build_app(explicit: list[str], seen: list[str]) -> web.Application:
    """Explicit routes answer their own path; the catch-all answers "functions". The middleware runs only
    when aiohttp's own handler does, so `seen` tells which way each request went."""

    @web.middleware
    async def note(request: web.Request, handler: Callable[..., object]) -> web.StreamResponse:
        seen.append("router")
        response = await handler(request)  # type: ignore[misc]
        assert isinstance(response, web.StreamResponse)
        return response

    async def explicit_route(request: web.Request) -> web.Response:
        return web.Response(text="explicit")

    async def functions(request: web.Request) -> web.Response:
        return web.Response(text="functions")

    app = web.Application(middlewares=[note])
    for path in explicit:
        app.router.add_get(path, explicit_route)
    app[FUNCTIONS] = app.router.add_route("*", r"/{tail:[\s\S]*}", functions)
    return app


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(explicit: list[str]) -> tuple[str, list[str]]:
        seen: list[str] = []
        runner = ProblemAppRunner(
            build_app(explicit, seen), problem_of=partial(problem, AppHooks()), front=front_door, access_log=None
        )
        await runner.setup()
        runners.append(runner)
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}", seen

    yield start
    for runner in runners:
        await runner.cleanup()


EXPLICIT = ["/runtime/webhooks/durabletask/instances", "/_files/{name}"]


@pytest.mark.parametrize(
    ("path", "headers", "answer", "way"),
    [
        ("/v1/production/regional/11/2024-03-31", {}, "functions", "front door"),
        ("/v1/production/regional?region_code=11", {}, "functions", "front door"),
        ("/", {}, "functions", "front door"),
        ("/runtime/webhooks/durabletask/instances", {}, "explicit", "router"),
        ("/runtime/elsewhere", {}, "functions", "router"),  # a claimed first segment: the router decides
        ("/_files/a.csv", {}, "explicit", "router"),
        ("/%72untime/webhooks/durabletask/instances", {}, "explicit", "router"),  # encoded: decoded by the router
        ("/v1/anything", {"Expect": "100-continue"}, "functions", "router"),  # the router answers 100 Continue
    ],
)
async def test_each_request_goes_the_way_that_gives_the_same_answer(
    serve: Serve, path: str, headers: dict[str, str], answer: str, way: str
) -> None:
    base_url, seen = await serve(EXPLICIT)
    async with aiohttp.ClientSession() as http, http.get(base_url + path, headers=headers) as response:
        assert (response.status, await response.text()) == (200, answer)
    assert seen == (["router"] if way == "router" else [])


async def test_a_route_with_a_dynamic_first_segment_turns_the_shortcut_off(
    serve: Serve,
) -> None:
    base_url, seen = await serve(["/{anything}/x"])
    async with aiohttp.ClientSession() as http:
        for path, answer in (("/v1/x", "explicit"), ("/v1/y", "functions")):
            async with http.get(base_url + path) as response:
                assert await response.text() == answer
    assert seen == ["router", "router"]
