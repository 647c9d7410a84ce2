"""devhost/protocol_errors.py's adapter to aiohttp's private names, pinned: an aiohttp upgrade that renames or
reshapes them fails here, not as plain-text 400s (tests/integration/devhost/test_protocol_errors.py and
tests/e2e/test_devhost_protocol_errors.py prove the answers themselves)."""

from __future__ import annotations

import asyncio
import inspect
from functools import partial

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from devhost.app_hooks import AppHooks
from devhost.protocol_errors import ProblemAppRunner, ProblemRequestHandler, ProblemServer, handler_arguments
from devhost.server import problem


def test_aiohttp_builds_each_connection_handler_from_the_servers_loop_and_kwargs() -> None:
    source = inspect.getsource(web.Server.__call__)
    assert "RequestHandler(self, loop=self._loop, **self._kwargs)" in source
    assert inspect.iscoroutinefunction(web.AppRunner._make_server)
    parameters = list(inspect.signature(RequestHandler.handle_error).parameters)
    assert parameters == ["self", "request", "status", "exc", "message"]


async def test_a_server_gives_the_handler_arguments_it_was_built_with() -> None:
    loop = asyncio.get_running_loop()
    server = web.Server(lambda request: None, loop=loop, access_log=None, max_line_size=1234)  # type: ignore[arg-type, return-value]
    assert handler_arguments(server) == {"loop": loop, "access_log": None, "max_line_size": 1234}


async def test_the_runner_builds_problem_handlers_with_aiohttps_arguments() -> None:
    runner = ProblemAppRunner(
        web.Application(), problem_of=partial(problem, AppHooks()), access_log=None, max_line_size=1234
    )
    await runner.setup()  # the app's startup and the server; no socket
    try:
        server = runner.server
        assert isinstance(server, ProblemServer)
        assert handler_arguments(server)["max_line_size"] == 1234
        assert handler_arguments(server)["access_log"] is None
        assert isinstance(server(), ProblemRequestHandler)
    finally:
        await runner.cleanup()
