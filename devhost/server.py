"""aiohttp server: the Durable HTTP API, the routes the app's hooks add, and the app's HTTP triggers."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiohttp import web

from devhost import durable_api
from devhost.app_hooks import AppHooks
from devhost.engine import DurableEngine
from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import build_http_request, http_response_parts, invocation
from devhost.routes import RouteTable
from devhost.timer_triggers import TimerStatus

log = logging.getLogger("devhost.server")
_PROBLEM = "application/problem+json"


def problem(hooks: AppHooks, status: int, title: str, detail: str) -> web.Response:
    """RFC 9457 problem+json {type, title, status, detail, request_id} + X-Request-ID; `type` from the app."""
    request_id = uuid.uuid4().hex
    body = {
        "type": hooks.problem_type(title),
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    response = web.json_response(body, status=status, content_type=_PROBLEM)
    response.headers["X-Request-ID"] = request_id
    return response


def flat_query(request: web.Request) -> dict[str, str]:
    """As the Functions host builds RpcHttp.query: repeated keys joined with ",", empty values dropped."""
    if not request.query_string:  # most reads: nothing to parse
        return {}
    joined = {key: ",".join(request.query.getall(key)) for key in request.query}
    return {key: value for key, value in joined.items() if value}


def flat_headers(request: web.Request) -> dict[str, str]:
    """As the host builds RpcHttp.headers: lower-cased names, repeated values joined with "," (StringValues),
    and, as Azure's front end does, the peer's address appended to X-Forwarded-For (the app's per-address rate
    limits trust that last entry, never the ones the caller sent)."""
    merged: dict[str, str] = {}
    for key, value in request.headers.items():
        name = key.lower()
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    peer = request.remote
    if peer:
        sent = merged.get("x-forwarded-for")
        merged["x-forwarded-for"] = f"{sent},{peer}" if sent else peer
    return merged


def request_url(request: web.Request) -> str:
    """The URL as the client sent it (the conformance suite hands the worker the same): scheme, Host and the raw
    path and query; `str(request.url)` re-built and re-quoted it through yarl (~6 µs a request)."""
    return f"{request.scheme}://{request.host}{request.raw_path}"


@dataclass
class HostState:
    index: FunctionIndex
    engine: DurableEngine
    base_url: str = ""
    hooks: AppHooks = field(default_factory=AppHooks)
    system_key: str | None = None  # the Durable webhooks' key (code= / x-functions-key)
    timers: list[TimerStatus] = field(default_factory=list)


SCHEDULER_STATUS_PATH = "/_devhost/scheduler"


def scheduler_status_route(state: HostState) -> web.RouteDef:
    """GET /_devhost/scheduler: the durable scheduler's state and each timer's last firing; 503 while the
    scheduler is backing off or stopped (the app's /v1/health, served by the app, cannot see devhost's loop).
    Unauthenticated as /_files: devhost listens on 127.0.0.1 only."""

    async def status(request: web.Request) -> web.Response:
        scheduler = state.engine.scheduler.status
        body = {"scheduler": scheduler.as_dict(), "timers": [t.as_dict() for t in state.timers]}
        return web.json_response(body, status=200 if scheduler.healthy else 503, headers={"Cache-Control": "no-store"})

    return web.get(SCHEDULER_STATUS_PATH, status)


def build_web_app(state: HostState, *, http_workers: int = 8) -> web.Application:
    executor = ThreadPoolExecutor(http_workers, thread_name_prefix="devhost-http")
    problem_of = partial(problem, state.hooks)
    routes = RouteTable([(info.route, info) for info in state.index.http if info.route is not None])

    def match(method: str, path: str) -> tuple[FunctionInfo | None, dict[str, str], bool]:
        found = routes.first(path)  # one regex run instead of each template in turn
        if found is not None and method.upper() in found[0].methods:
            return found[0], found[1], True
        return state.index.match_http(method, path)  # a later route with this method, or a 405 / 404

    async def dispatch(request: web.Request) -> web.StreamResponse:
        path = request.raw_path.split("?", 1)[0]
        info, values, path_matched = match(request.method, path)
        if info is None:
            if path_matched:  # as ASP.NET routing does: 405 with Allow (RFC 9110 §15.5.6)
                response = problem_of(405, "Method Not Allowed", f"{request.method} is not allowed on {path}.")
                response.headers["Allow"] = ", ".join(state.index.allowed_methods(path))
                return response
            return problem_of(404, "Not Found", f"No function serves {path}.")
        body = await request.read() if request.body_exists else b""
        req = build_http_request(
            request.method, request_url(request), flat_headers(request), flat_query(request), values, body
        )
        kwargs: dict[str, Any] = {info.trigger_name: req}
        if info.client_binding:
            kwargs[info.client_binding] = durable_api.client_binding(state.base_url, system_key=state.system_key)
        try:
            result = await invocation(info, kwargs, executor)
            status, headers, body = http_response_parts(result)
        except Exception:
            log.exception("function %s failed", info.name)
            return problem_of(500, "Internal Server Error", f"The function {info.name} failed; see the devhost log.")
        return await reply(request, status, headers, body)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes(durable_api.build_routes(state.engine.client, state.system_key))
    app.add_routes([scheduler_status_route(state)])
    app.add_routes(state.hooks.routes(problem_of))
    # Any path, one with an encoded newline too.
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    app.on_cleanup.append(lambda _app: _shutdown_executor(executor))
    return app


async def reply(request: web.Request, status: int, headers: list[tuple[str, str]], body: bytes) -> web.Response:
    """The function's answer: aiohttp builds its one multidict from the list (repeated headers kept)."""
    return web.Response(status=status, body=body, headers=headers)


async def _shutdown_executor(executor: ThreadPoolExecutor) -> None:
    executor.shutdown(wait=False, cancel_futures=True)


async def reset_sdk_session() -> None:
    """The SDK's aiohttp session is module-global and bound to one event loop: close and forget it."""
    import asyncio

    from azure.durable_functions.models.utils import http_utils

    session = http_utils._client_session
    if session is not None and not session.closed:
        await session.close()
    http_utils._client_session = None
    http_utils._session_lock = asyncio.Lock()
