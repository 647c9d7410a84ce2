"""A real webhook receiver for the tests: an aiohttp server on 127.0.0.1 in a background thread.

Each path has a script of answers (statuses, then the last one repeated; a 3xx answers with a Location);
every request is kept with its headers and body, and verified with the subscription's secret by the test.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devhost.testing import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    redirect_to: str = "http://10.0.0.1/hook"
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        with self._lock:
            script = self.scripts.get(request.path, [200])
            status = script.pop(0) if len(script) > 1 else script[0]
            self.received.append(Received(request.path, dict(request.headers), body, status))
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": self.redirect_to})
        return web.Response(status=status, text="ok" if status < 300 else "not now")

    def start(self) -> Receiver:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        threading.Thread(target=run, name=f"webhook-receiver-{self.port}", daemon=True).start()
        assert ready.wait(10), "the receiver did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)


def acknowledged_items(received: list[Received]) -> list[tuple[str, str, str, str]]:
    """(region, kind, day-or-month, content_hash) of every batch the receiver acknowledged, once per webhook-id,
    in the order they arrived."""
    seen: set[str] = set()
    items: list[tuple[str, str, str, str]] = []
    for r in received:
        if not 200 <= r.answered < 300 or r.headers["webhook-id"] in seen:
            continue
        seen.add(r.headers["webhook-id"])
        for item in r.payload["data"]["items"]:
            items.append((item["region"], item["kind"], item.get("date") or item["month"], item["content_hash"]))
    return items
