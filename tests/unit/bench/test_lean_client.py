"""The paired cells' lean client against a real aiohttp server (and a raw socket for answers aiohttp never sends)."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiohttp import web

from bench.lean_client import RawKeepAlive, ResponseError

DOC = random.Random(11).randbytes(27_000)  # a day document's size; random bytes: any framing slip shows
BIG = random.Random(12).randbytes(1_500_000)  # many recv() calls


async def _doc(request: web.Request) -> web.Response:
    return web.Response(body=DOC, content_type="application/json", headers={"X-Key-Seen": request.headers["X-API-Key"]})


async def _echo(request: web.Request) -> web.Response:
    return web.Response(body=f"{request.path_qs} {request.headers.get('X-API-Key')}".encode())


async def _chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"part one,")
    await response.write(b"part two")
    await response.write_eof()
    return response


async def _close(request: web.Request) -> web.Response:
    return web.Response(body=b"last", headers={"Connection": "close"})


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/doc", _doc)
    app.router.add_get("/big", lambda r: _const(BIG))
    app.router.add_get("/echo", _echo)
    app.router.add_get("/redirect", lambda r: _raise(web.HTTPFound("/doc")))
    app.router.add_get("/empty", lambda r: _const(b"", status=204))
    app.router.add_get("/missing", lambda r: _raise(web.HTTPNotFound()))
    app.router.add_get("/chunked", _chunked)
    app.router.add_get("/close", _close)
    return app


async def _const(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body or None, status=status)


async def _raise(error: web.HTTPException) -> web.Response:
    raise error


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The app on a free port, its loop in a thread of its own; idle keep-alive connections closed after 0.3 s."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_app(), keepalive_timeout=0.3)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def client(base_url: str) -> Iterator[RawKeepAlive]:
    http = RawKeepAlive(base_url, {"X-API-Key": "k3y"}, timeout_s=5)
    yield http
    http.close()


def test_sequential_gets_share_one_connection_and_get_every_byte(client: RawKeepAlive) -> None:
    for _ in range(20):
        for path, body in (("/doc", DOC), ("/big", BIG)):
            reply = client.get(path)
            assert reply.status == 200 and reply.body == body
    assert client.connections == 1


# (path, status, body): the request line and headers sent as given; bodiless and error answers framed too.
CASES = [
    ("/echo?region=11&day=2024-03-31", 200, b"/echo?region=11&day=2024-03-31 k3y"),
    ("/redirect", 302, None),
    ("/empty", 204, b""),
    ("/missing", 404, None),
]


@pytest.mark.parametrize(("path", "status", "body"), CASES, ids=[c[0] for c in CASES])
def test_each_answer_is_framed_and_the_connection_stays_usable(
    client: RawKeepAlive, path: str, status: int, body: bytes | None
) -> None:
    reply = client.get(path)
    assert reply.status == status
    if body is not None:
        assert reply.body == body
    assert client.get("/doc").body == DOC and client.connections == 1


def test_a_chunked_answer_is_refused_and_the_next_get_starts_clean(client: RawKeepAlive) -> None:
    with pytest.raises(ResponseError, match="chunked"):
        client.get("/chunked")
    assert client.get("/doc").body == DOC
    assert client.connections == 2  # the refused answer's connection dropped, not read as the next reply


def test_connection_close_and_an_idle_close_by_the_server_reopen_the_connection(client: RawKeepAlive) -> None:
    assert client.get("/close").body == b"last"
    assert client.get("/doc").body == DOC and client.connections == 2
    time.sleep(0.8)  # past the server's keep-alive timeout: it has closed the idle connection
    assert client.get("/doc").body == DOC and client.connections == 3


# Raw answers (what aiohttp never sends): each is an error, never a reply.
RAW_CASES = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10, "10 of 100 body bytes"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", "without Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", "bad Content-Length"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Len", "inside the headers"),
    (b"", "closed the connection before answering"),
]


@pytest.mark.parametrize(("answer", "message"), RAW_CASES, ids=[c[1] for c in RAW_CASES])
def test_a_short_or_unframed_answer_is_an_error(answer: bytes, message: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer_once() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

        thread = threading.Thread(target=answer_once)
        thread.start()
        http = RawKeepAlive(f"http://127.0.0.1:{listener.getsockname()[1]}", {}, timeout_s=5)
        with pytest.raises(ResponseError, match=message):
            http.get("/")
        thread.join(5)
        http.close()
