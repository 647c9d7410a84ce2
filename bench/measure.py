"""Measuring the four shapes: over real HTTP against devhost, and in-process on demand from Gold."""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from statistics import median
from typing import Any

from aiohttp import web

from bench import ondemand
from bench.http_load import RawKeepAlive, ResponseError, load_cell, run_cell, speedup, summarize
from bench.shapes import SHAPES, Query, Span
from devhost.testing import free_port

OnDemand = Callable[[sqlite3.Connection, Query], bytes]

ONDEMAND: dict[str, OnDemand] = {
    "point_read": lambda conn, q: ondemand.day_body(conn, q.region_code, q.first_day.isoformat()),
    "range_31d_hourly": lambda conn, q: ondemand.hourly_range_body(
        conn, q.region_code, q.first_day.isoformat(), q.last_day.isoformat()
    ),
    "range_1y_daily": lambda conn, q: ondemand.daily_range_body(
        conn, q.region_code, q.first_day.isoformat(), q.last_day.isoformat()
    ),
    "csv_export": lambda conn, q: ondemand.day_csv(conn, q.region_code, q.first_day.isoformat()),
}


def api_cells(
    base_url: str,
    key: str,
    span: Span,
    *,
    shapes: Iterable[str],
    concurrencies: Iterable[int],
    duration_s: float,
    max_requests: int,
    warmup: int = 20,
    seed: int = 1,
    client: str = "aiohttp",
) -> dict[str, dict[str, Any]]:
    """Per shape and concurrency: p50/p95/p99, req/s and errors; plus each shape's best req/s.

    `client` "wrk" runs fixed-duration wrk cells (max_requests does not apply); "aiohttp" the Python client.
    """
    headers = {"X-API-Key": key}
    results: dict[str, dict[str, Any]] = {}
    for shape in shapes:
        build, expect = SHAPES[shape]

        def make_path(rng: random.Random, build: Callable[[random.Random, Span], Query] = build) -> str:
            return build(rng, span).path

        # Warm-up: connection setup, imports and first-use caches out of the measured cells.
        asyncio.run(run_cell(base_url, headers, make_path, 4, expect_status=expect, duration_s=30, max_requests=warmup))
        per_c: dict[str, Any] = {}
        for c in concurrencies:
            per_c[str(c)] = load_cell(
                base_url,
                key,
                make_path,
                c,
                client=client,
                expect_status=expect,
                duration_s=duration_s,
                max_requests=max_requests,
                seed=seed + c,
            )
            print(f"  api {shape:<17} c={c:<3} {_brief(per_c[str(c)])}", flush=True)
        per_c["best_req_per_s"] = max(v["req_per_s"] for k, v in per_c.items() if isinstance(v, dict))
        results[shape] = per_c
    return results


def ondemand_cells(
    gold_path: Path, span: Span, *, shapes: Iterable[str], iterations: int, max_seconds: float, seed: int = 2
) -> dict[str, dict[str, Any]]:
    """Per shape, sequential in this process: the same random queries answered from Gold SQL."""
    results: dict[str, dict[str, Any]] = {}
    conn = ondemand.connect_readonly(gold_path)
    try:
        for shape in shapes:
            build, _ = SHAPES[shape]
            answer = ONDEMAND[shape]
            rng = random.Random(seed)
            answer(conn, build(rng, span))  # warm the page cache and pandas code paths
            latencies: list[float] = []
            body_bytes = 0
            started = time.perf_counter()
            while len(latencies) < iterations and time.perf_counter() - started < max_seconds:
                query = build(rng, span)
                t0 = time.perf_counter()
                body_bytes += len(answer(conn, query))
                latencies.append(time.perf_counter() - t0)
            summary = {**summarize(latencies, 0, time.perf_counter() - started), "mean_body_bytes": 0}
            summary["mean_body_bytes"] = body_bytes // max(len(latencies), 1)
            results[shape] = summary
            print(f"  on-demand {shape:<17} {_brief(summary)}", flush=True)
    finally:
        conn.close()
    return results


def _brief(summary: dict[str, Any]) -> str:
    return (
        f"n={summary['requests']} p50={summary['p50_ms']} p95={summary['p95_ms']} p99={summary['p99_ms']} ms "
        f"{summary['req_per_s']} req/s errors={summary['errors']}"
    )


def paired_ratios(
    base_url: str, key: str, gold_path: Path, span: Span, *, shapes: Iterable[str], rounds: int, seed: int = 3
) -> dict[str, dict[str, Any]]:
    """Precomputed vs on-demand under the same noise: alternate small blocks of each, sequentially.

    Each round sends `API_PER_ROUND` sequential HTTP requests (one keep-alive connection) and answers
    `ONDEMAND_PER_ROUND` of the same kind of query on demand, so a burst of load from elsewhere on the
    machine hits both sides alike. The ratio is on-demand p50 / API p50 (HTTP included on the API side only).
    The API side's client is `bench.http_load.RawKeepAlive` (a raw keep-alive socket, the response framed by its status
    line and Content-Length and checked): http.client's header parsing cost ~0.1 ms a request, charged to the
    API. A reply with another status, or one the client cannot frame or that ends early, is an error, not timed.
    """
    results: dict[str, dict[str, Any]] = {}
    conn = ondemand.connect_readonly(gold_path)
    # identity, as http.client asked before: the same uncompressed bytes as the earlier figures.
    http = RawKeepAlive(base_url, {"X-API-Key": key, "Accept-Encoding": "identity"})
    try:
        for shape in shapes:
            build, expect = SHAPES[shape]
            answer = ONDEMAND[shape]
            rng = random.Random(seed)
            api_s: list[float] = []
            od_s: list[float] = []
            errors = 0
            for _ in range(rounds):
                for _ in range(API_PER_ROUND):
                    path = build(rng, span).path
                    t0 = time.perf_counter()
                    try:
                        status = http.get(path).status
                    except ResponseError:
                        status = None
                    elapsed = time.perf_counter() - t0
                    if status == expect:
                        api_s.append(elapsed)
                    else:
                        errors += 1
                for _ in range(ONDEMAND_PER_ROUND):
                    query = build(rng, span)
                    t0 = time.perf_counter()
                    answer(conn, query)
                    od_s.append(time.perf_counter() - t0)
            api, od = summarize(api_s, errors, sum(api_s)), summarize(od_s, 0, sum(od_s))
            results[shape] = {
                "api_p50_ms": api["p50_ms"],
                "api_p99_ms": api["p99_ms"],
                "ondemand_p50_ms": od["p50_ms"],
                "ondemand_p99_ms": od["p99_ms"],
                "api_requests": api["requests"],
                "ondemand_requests": od["requests"],
                "errors": errors,
                "x_faster_p50": speedup(api["p50_ms"], od["p50_ms"]),
                "api_client": "bench.http_load.RawKeepAlive (raw keep-alive socket)",
            }
            print(f"  paired {shape:<17} {results[shape]}", flush=True)
    finally:
        conn.close()
        http.close()
    return results


API_PER_ROUND = 10
ONDEMAND_PER_ROUND = 2


# --- the floor ----------------------------------------------------------------------------------------------------
# The floor: the same bytes as one API point read, served by a bare aiohttp handler on the same machine.
#
# `python -m bench.measure --port N --body FILE` is that server (its own process, as devhost is). `floor_cells`
# alternates cells of the API and of the floor at one concurrency, same client, same bytes (one day document,
# requested again and again), so the machine's noise hits both alike; the API/floor ratio of req/s says how
# much of the machine the API's own work takes beyond writing the bytes.


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
        argv = [sys.executable, "-m", "bench.measure", "--port", str(self.port), "--body", str(body_file)]
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
    return load_cell(
        base_url, key, lambda _rng: path, concurrency, client=client, duration_s=duration_s, distinct_paths=1
    )


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
    parser = argparse.ArgumentParser(prog="python -m bench.measure", description="The floor server (see floor_cells).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args(argv)
    web.run_app(build_app(args.body.read_bytes()), host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
