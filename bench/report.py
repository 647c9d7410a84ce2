"""The console summary: one short table per part, and the targets with PASS/MISS."""

from __future__ import annotations

from typing import Any

from bench.table import render
from bench.targets import evaluate


def _materialization(results: dict[str, Any]) -> str:
    mat = results.get("materialization") or {}
    out = mat.get("output") or {}
    rows: list[list[Any]] = [
        ["full backfill (orchestration)", mat.get("full_backfill_s"), "s"],
        ["  per year of data", mat.get("full_backfill_s_per_year"), "s"],
        ["  from process start (incl. startup)", mat.get("full_backfill_wall_s_from_process_start"), "s"],
        ["  activities run", mat.get("activities_run"), ""],
        ["  days written / files written", f"{out.get('days_written', '-')} / {out.get('files_written', '-')}", ""],
        ["1-day incremental (POST to Completed)", mat.get("incremental_1day_s"), "s"],
        ["peak RSS of devhost (whole run)", mat.get("peak_rss_mib"), "MiB"],
        ["RSS of devhost after the latency cells (reads cached)", mat.get("rss_after_reads_mib"), "MiB"],
        ["  of its HTTP process alone (without activity workers)", mat.get("rss_after_reads_main_mib"), "MiB"],
    ]
    return render(["materialization", "value", "unit"], rows)


def _api(results: dict[str, Any]) -> str:
    rows = []
    for shape, cells in (results.get("api") or {}).items():
        for c, cell in cells.items():
            if isinstance(cell, dict):
                rows.append(
                    [
                        f"{shape} c={c}",
                        cell["p50_ms"],
                        cell["p95_ms"],
                        cell["p99_ms"],
                        cell["req_per_s"],
                        cell["errors"],
                    ]
                )
    return render(["API over HTTP", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors"], rows)


def _floor(results: dict[str, Any]) -> str:
    floor = results.get("floor") or {}
    cpu = results.get("inprocess_cpu") or {}
    rows: list[list[Any]] = [
        [
            f"point read c={floor.get('concurrency')} ({floor.get('body_bytes')} B): API / bare aiohttp",
            f"{floor.get('api_req_per_s')} / {floor.get('floor_req_per_s')} req/s",
            floor.get("api_to_floor"),
        ],
        ["  p99 API / bare aiohttp", f"{floor.get('api_p99_ms')} / {floor.get('floor_p99_ms')} ms", ""],
    ]
    for shape, cells in (results.get("floor_ranges") or {}).items():
        rows.append(
            [
                f"{shape} c={cells.get('concurrency')} ({cells.get('body_bytes')} B): API / bare aiohttp",
                f"{cells.get('api_req_per_s')} / {cells.get('floor_req_per_s')} req/s",
                cells.get("api_to_floor"),
            ]
        )
        rows.append(["  p99 API / bare aiohttp", f"{cells.get('api_p99_ms')} / {cells.get('floor_p99_ms')} ms", ""])
    for shape, figures in cpu.items():
        label = f"CPU per request in process: {shape}"
        rows.append([label, figures.get("cpu_us_per_request"), f"µs ({figures.get('function')})"])
    return render(["floor and CPU", "measured", "ratio / unit"], rows)


def _ratios(results: dict[str, Any]) -> str:
    rows = []
    for shape, p in (results.get("paired") or {}).items():
        rows.append(
            [shape, p.get("api_p50_ms"), p.get("ondemand_p50_ms"), p.get("ondemand_p99_ms"), p.get("x_faster_p50")]
        )
    headers = ["precomputed vs on-demand (paired)", "API p50 c=1", "on-demand p50", "on-demand p99", "x faster"]
    return render(headers, rows)


def _growth(results: dict[str, Any]) -> str:
    rows = []
    for p in (results.get("growth") or {}).get("points", []):
        api = p.get("api_c16") or {}
        od = p.get("ondemand") or {}
        rows.append(
            [
                p["years"],
                p.get("fact_rows"),
                p.get("full_backfill_s"),
                p.get("full_backfill_s_per_year"),
                (api.get("point_read") or {}).get("p50_ms"),
                (api.get("point_read") or {}).get("p99_ms"),
                (api.get("range_31d_hourly") or {}).get("p50_ms"),
                (api.get("range_31d_hourly") or {}).get("p99_ms"),
                (od.get("range_31d_hourly") or {}).get("p50_ms"),
                p.get("peak_rss_mib"),
            ]
        )
    headers = [
        "years",
        "fact rows",
        "backfill s",
        "s/year",
        "point p50",
        "point p99",
        "31d p50",
        "31d p99",
        "on-demand 31d p50",
        "RSS MiB",
    ]
    return render(headers, rows) + "\n(API latencies in ms at c=16)"


def _load(results: dict[str, Any]) -> str:
    lt = results.get("load_test")
    if not lt:
        return "load test: not run"
    rows = [
        ["requests (mixed read routes)", lt.get("requests")],
        ["req/s", lt.get("req_per_s")],
        ["p50 / p99 ms", f"{lt.get('p50_ms')} / {lt.get('p99_ms')}"],
        ["errors", lt.get("errors")],
        ["backfill status / seconds", f"{lt.get('backfill_status')} / {lt.get('backfill_seconds')}"],
        ["documents unchanged", lt.get("documents_unchanged")],
        ["nothing lost", lt.get("nothing_lost")],
    ]
    return render([f"load test c={lt.get('concurrency')}, {lt.get('seconds')} s", "value"], rows)


def summary(results: dict[str, Any]) -> str:
    targets = [[r["target"], r["goal"], r["measured"], r["verdict"]] for r in evaluate(results)]
    parts = [
        _materialization(results),
        _api(results),
        _floor(results),
        _ratios(results),
        _growth(results),
        _load(results),
        render(["target", "goal", "measured", "verdict"], targets),
    ]
    return "\n\n".join(parts)
