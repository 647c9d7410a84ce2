"""Measuring the four shapes: over real HTTP against devhost, and in-process on demand from Gold."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench import ondemand, wrk_client
from bench.http_load import run_cell
from bench.lean_client import RawKeepAlive, ResponseError
from bench.shapes import SHAPES, Query, Span
from bench.stats import speedup, summarize

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
            if client == "wrk":
                per_c[str(c)] = wrk_client.run_cell(
                    base_url, key, make_path, c, expect_status=expect, duration_s=duration_s, seed=seed + c
                )
                print(f"  api {shape:<17} c={c:<3} {_brief(per_c[str(c)])}", flush=True)
                continue
            cell = asyncio.run(
                run_cell(
                    base_url,
                    headers,
                    make_path,
                    c,
                    expect_status=expect,
                    duration_s=duration_s,
                    max_requests=max_requests,
                    seed=seed + c,
                )
            )
            per_c[str(c)] = {**cell.summary(), "error_kinds": dict(cell.errors), "client": "aiohttp"}
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
    The API side's client is `bench.lean_client` (a raw keep-alive socket, the response framed by its status
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
                "api_client": "bench.lean_client (raw keep-alive socket)",
            }
            print(f"  paired {shape:<17} {results[shape]}", flush=True)
    finally:
        conn.close()
        http.close()
    return results


API_PER_ROUND = 10
ONDEMAND_PER_ROUND = 2
