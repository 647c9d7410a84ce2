"""The floor: the same bytes as one API point read, served by a bare aiohttp handler on the same machine.

`python -m bench.floor --port N --body FILE` is that server (its own process, as devhost is). `floor_cells`
alternates cells of the API and of the floor at one concurrency, same client, same bytes (one day document,
requested again and again), so the machine's noise hits both alike; the API/floor ratio of req/s says how
much of the machine the API's own work takes beyond writing the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

from aiohttp import web

from bench import wrk_client
from bench.http_load import run_cell
from devhost.testing import free_port


def build_app(body: bytes) -> web.Application:
    """Every GET answers `body` as application/json (the point read's headers are the only extra)."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    return app


class FloorServer:
    """The floor server as a child process on a free port (stopped on exit)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="bench-floor-")
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FloorServer:
        body_file = Path(self._dir.name) / "body.json"
        body_file.write_bytes(self.body)
        argv = [sys.executable, "-m", "bench.floor", "--port", str(self.port), "--body", str(body_file)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/ready", timeout=1) as resp:
                    if resp.read() == self.body:
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the floor server did not answer within 30 s")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._dir.cleanup()


def fetch(base_url: str, path: str, key: str) -> bytes:
    req = urllib.request.Request(base_url + path, headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        data: bytes = resp.read()
    return data


def _cell(base_url: str, key: str, path: str, concurrency: int, duration_s: float, client: str) -> dict[str, Any]:
    if client == "wrk":
        return wrk_client.run_cell(
            base_url, key, lambda _rng: path, concurrency, expect_status=200, duration_s=duration_s, distinct_paths=1
        )
    cell = asyncio.run(
        run_cell(
            base_url,
            {"X-API-Key": key},
            lambda _rng: path,
            concurrency,
            duration_s=duration_s,
            max_requests=10**7,
        )
    )
    return {**cell.summary(), "client": "aiohttp"}


def floor_cells(
    api_base_url: str,
    key: str,
    path: str,
    *,
    concurrency: int = 16,
    duration_s: float = 4.0,
    rounds: int = 3,
    client: str = "aiohttp",
) -> dict[str, Any]:
    """Alternating API and floor cells of `path`'s bytes; medians of each side, and the API/floor ratio as the
    median of each round's own ratio (the two cells of a round are adjacent in time, so a machine that slows
    down over the run moves both alike). Rounds alternate which side goes first, so neither always follows the
    other's load."""
    body = fetch(api_base_url, path, key)
    api: list[dict[str, Any]] = []
    floor: list[dict[str, Any]] = []
    with FloorServer(body) as server:
        _cell(server.base_url, key, path, concurrency, 1.0, client)  # warm-up of both sides
        _cell(api_base_url, key, path, concurrency, 1.0, client)
        for round_number in range(rounds):
            sides = [(api, api_base_url), (floor, server.base_url)]
            for cells, base_url in sides if round_number % 2 == 0 else sides[::-1]:
                cells.append(_cell(base_url, key, path, concurrency, duration_s, client))
            print(
                f"  floor c={concurrency} API {api[-1]['req_per_s']} req/s p99 {api[-1]['p99_ms']} ms | "
                f"bare aiohttp {floor[-1]['req_per_s']} req/s p99 {floor[-1]['p99_ms']} ms",
                flush=True,
            )

    def med(cells: list[dict[str, Any]], name: str) -> float:
        return round(median(c[name] for c in cells), 3)

    api_rps, floor_rps = med(api, "req_per_s"), med(floor, "req_per_s")
    per_round = [a["req_per_s"] / f["req_per_s"] for a, f in zip(api, floor, strict=True) if f["req_per_s"]]
    return {
        "path": path,
        "body_bytes": len(body),
        "concurrency": concurrency,
        "client": client,
        "api_req_per_s": api_rps,
        "floor_req_per_s": floor_rps,
        "api_p99_ms": med(api, "p99_ms"),
        "floor_p99_ms": med(floor, "p99_ms"),
        "api_to_floor": round(median(per_round), 3) if per_round else None,
        "api_to_floor_per_round": [round(r, 3) for r in per_round],
        "api_to_floor_of_medians": round(api_rps / floor_rps, 3) if floor_rps else None,
        "errors": sum(c["errors"] for c in api + floor),
        "cells": {"api": api, "floor": floor},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args(argv)
    web.run_app(build_app(args.body.read_bytes()), host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
