"""Requests aiohttp cannot parse (raw invalid bytes, oversized lines) answered as problem+json with a request id.

aiohttp answers a request line or header it cannot parse before any route or middleware runs, from
`RequestHandler.handle_error`, as plain text. The runner below builds its connections with a handler whose
`handle_error` gives the same problem+json shape as every other error of the host.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

ProblemOf = Callable[[int, str, str], web.Response]  # (status, title, detail) -> problem+json response

_DETAILS = {
    400: "The request line or a header could not be parsed as HTTP/1.1.",
    500: "The host failed while handling the request; see the devhost log.",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ProblemRequestHandler(RequestHandler):
    """One connection: aiohttp's own error answers become problem+json."""

    def __init__(self, manager: web.Server, *, problem_of: ProblemOf, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._problem_of = problem_of

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # logs, refuses once a response has started
        phrase = _phrase(status)
        # The parser's message quotes the raw bytes: it goes to the log (above), not back to the client.
        problem = self._problem_of(status, phrase, _DETAILS.get(status, phrase + "."))
        problem.force_close()  # as aiohttp does: the stream cannot be trusted after a parse error
        return problem if isinstance(plain, web.Response) else plain


# The adapter to aiohttp's internals. aiohttp has no public way to give a server's connections a handler class
# of one's own, so this is the one place devhost reaches into private names: AppRunner._make_server (the app's
# startup and the server it builds), and Server._kwargs / Server._loop (what web.Server.__call__ hands each
# RequestHandler: debug, access log, line and field limits). tests/unit/devhost/test_protocol_errors.py pins
# them and fails when an aiohttp upgrade renames or reshapes them.


def handler_arguments(server: web.Server) -> dict[str, Any]:
    """The arguments web.Server gives each of its RequestHandlers (as its own __call__ does)."""
    return {"loop": server._loop, **server._kwargs}


class ProblemServer(web.Server):
    def __init__(self, *args: Any, problem_of: ProblemOf, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._problem_of = problem_of

    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, problem_of=self._problem_of, **handler_arguments(self))


class ProblemAppRunner(web.AppRunner):
    """web.AppRunner whose connections answer unparseable requests as problem+json."""

    def __init__(self, app: web.Application, *, problem_of: ProblemOf, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._problem_of = problem_of

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # the app's startup, freeze and handler arguments, as aiohttp does
        arguments = handler_arguments(plain)
        return ProblemServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            problem_of=self._problem_of,
            **arguments,
        )
