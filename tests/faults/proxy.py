"""A fault-injecting HTTP(S) reverse proxy between the app's SDK clients and an emulator.

Every request is forwarded to the upstream emulator unless a fault is armed; a fault lasts for the next
`requests` requests, for a `window` of seconds (from the first request it meets), or until cleared.
Faults, as the SDKs meet them:

- `429`: 429 with `x-ms-retry-after-ms` and `Retry-After` (Cosmos DB throttling; Blob answers it too).
- `503`: 503 Service Unavailable (Cosmos "ServiceUnavailable", Storage "ServerBusy").
- `timeout`: the request is read and never answered (the client's read timeout ends it).
- `reset`: the connection is closed with a TCP RST (SO_LINGER 0) before any response byte.
- `slow`: the answer is forwarded after `slow_seconds` (longer than the client's read timeout).

It runs an aiohttp server on its own event loop thread. With `tls=True` it terminates TLS with the
self-signed certificate cosmosdb-server ships (the SDK is configured not to verify it, emulator only),
so HTTP-level faults reach an HTTPS upstream. JSON bodies have the upstream's host:port rewritten to the
proxy's: the Cosmos account document names its endpoint, which the SDK would otherwise call directly.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp
from aiohttp import web

FaultKind = Literal["429", "503", "timeout", "reset", "slow"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "503", "timeout", "reset", "slow")
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "trailer", "upgrade"}
)
_HANG_SECONDS = 300.0  # `timeout`: far longer than any client timeout of the tests


@dataclass
class Fault:
    kind: FaultKind
    window: float | None = None  # seconds from the first faulted request
    requests: int | None = None  # or: the next n requests
    retry_after_ms: int = 100
    slow_seconds: float = 1.5
    until: float | None = None  # monotonic end of the window, set by the first faulted request

    def consume(self) -> bool:
        """Whether this request is faulted (and counts it)."""
        now = time.monotonic()
        if self.window is not None and self.until is None:
            self.until = now + self.window
        if self.until is not None and now >= self.until:
            return False
        if self.requests is not None:
            if self.requests <= 0:
                return False
            self.requests -= 1
        return True


class FaultProxy:
    def __init__(self, upstream: str, *, tls: bool = False, cert: Path | None = None, key: Path | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.upstream_authority = self.upstream.split("://", 1)[1].split("/", 1)[0]
        self.tls = tls
        self._cert, self._key = cert, key
        self._fault: Fault | None = None
        self._lock = threading.Lock()
        self.forwarded = 0
        self.faulted = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"fault-proxy-{upstream}", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # -- control (any thread) --------------------------------------------------------------------------

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._fault = fault
            self.faulted = 0

    def arm_window(self, kind: FaultKind, seconds: float) -> None:
        """Fault every request for `seconds` from the first one that arrives."""
        self.arm(Fault(kind, window=seconds))

    def arm_requests(self, kind: FaultKind, count: int) -> None:
        self.arm(Fault(kind, requests=count))

    def arm_until_cleared(self, kind: FaultKind) -> None:
        self.arm(Fault(kind))

    def clear(self) -> None:
        with self._lock:
            self._fault = None

    def _take_fault(self) -> Fault | None:
        with self._lock:
            if self._fault is not None and self._fault.consume():
                self.faulted += 1
                return self._fault
            self.forwarded += 1
            return None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=False),  # the upstream emulator's certificate is self-signed
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=60),
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        context = None
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self._cert), str(self._key))
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # -- requests --------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = self._take_fault()
        if fault is not None:
            if fault.kind == "429":
                return self._refusal(429, "TooManyRequests", fault.retry_after_ms)
            if fault.kind == "503":
                return self._refusal(503, "ServiceUnavailable", fault.retry_after_ms)
            if fault.kind == "reset":
                self._reset(request)
                raise asyncio.CancelledError  # nothing more to say on a reset connection
            if fault.kind == "timeout":
                await asyncio.sleep(_HANG_SECONDS)  # cancelled when the client gives up and disconnects
            if fault.kind == "slow":
                await asyncio.sleep(fault.slow_seconds)
        return await self._forward(request, body)

    @staticmethod
    def _refusal(status: int, code: str, retry_after_ms: int) -> web.Response:
        headers = {
            "x-ms-retry-after-ms": str(retry_after_ms),
            "Retry-After": str(max(1, retry_after_ms // 1000)),
            "x-ms-error-code": code,
            "x-ms-activity-id": "00000000-0000-0000-0000-000000000000",
        }
        return web.json_response({"code": code, "message": f"{code} (fault proxy)"}, status=status, headers=headers)

    @staticmethod
    def _reset(request: web.Request) -> None:
        transport = request.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=body or None,
            allow_redirects=False,
            skip_auto_headers=("Content-Type", "Accept-Encoding", "User-Agent"),  # signed requests: send theirs only
        ) as upstream:
            data = await upstream.read()
            out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
        if "json" in upstream.headers.get("Content-Type", "") and "Content-Encoding" not in upstream.headers:
            own = f"127.0.0.1:{self.port}"
            data = data.replace(self.upstream_authority.encode(), own.encode())
            data = data.replace(self.upstream_authority.replace("127.0.0.1", "localhost").encode(), own.encode())
        return web.Response(status=upstream.status, body=data, headers=out_headers)
