"""The targets with PASS/MISS, and the console summary: one short table per part."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal


def fmt(value: Any) -> str:
    """Numbers with thousands separators and at most 3 significant decimals; missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.2f}"
        return f"{value:.3g}"
    return str(value)


def render(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned first column, right-aligned others, one header rule."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        pairs = enumerate(zip(values, widths, strict=True))
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in pairs)

    return "\n".join([line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in cells)])


# --- the targets ------------------------------------------------------------------------------------------
# The targets and their verdict against the measured figures.

Verdict = Literal["PASS", "MISS", "N/A"]


@dataclass(frozen=True)
class Target:
    name: str
    path: tuple[str | int, ...]  # where the figure sits in the results JSON
    op: Literal["<=", ">="]
    threshold: float
    unit: str

    def describe(self) -> str:
        return f"{self.op} {self.threshold:,g} {self.unit}".strip()


_CPU = "cpu_us_per_request"

TARGETS: tuple[Target, ...] = (
    Target("31-day hourly query p99 @ c16", ("api", "range_31d_hourly", "16", "p99_ms"), "<=", 10, "ms"),
    Target("point read p50 vs on-demand", ("ratios", "point_read"), ">=", 100, "x faster"),
    Target("31-day hourly p50 vs on-demand", ("ratios", "range_31d_hourly"), ">=", 100, "x faster"),
    Target("1-year daily p50 vs on-demand", ("ratios", "range_1y_daily"), ">=", 100, "x faster"),
    Target("point reads per second (best c)", ("api", "point_read", "best_req_per_s"), ">=", 3000, "req/s"),
    Target("full backfill, 1 year x 12 regions", ("materialization", "full_backfill_s_per_year"), "<=", 60, "s"),
    Target("1-day incremental", ("materialization", "incremental_1day_s"), "<=", 3, "s"),
    Target("peak RSS of devhost", ("materialization", "peak_rss_mib"), "<=", 1024, "MiB"),
    Target("load test errors", ("load_test", "errors"), "<=", 0, "errors"),
    # Issue 11 (the bare-aiohttp floor stays as context in the table, not as a goal).
    Target("point read p99 @ c16", ("api", "point_read", "16", "p99_ms"), "<=", 10, "ms"),
    Target("1-year daily p99 @ c16", ("api", "range_1y_daily", "16", "p99_ms"), "<=", 10, "ms"),
    # Issue 23: the app process's CPU per request where it runs (cosmosdb-server + Azurite, in process).
    Target("CPU per point read, Cosmos DB path (warm)", ("inprocess_cpu_azure", "point_read", _CPU), "<=", 100, "µs"),
    Target(
        "CPU per 31-day hourly, Cosmos DB path (warm)",
        ("inprocess_cpu_azure", "range_31d_hourly", _CPU),
        "<=",
        300,
        "µs",
    ),
    Target(
        "CPU per point read, Cosmos DB path (cache miss)",
        ("inprocess_cpu_azure", "point_read_cold", _CPU),
        "<=",
        2500,
        "µs",
    ),
    Target("CPU per cold 31-day hourly, embedded", ("inprocess_cpu", "range_31d_hourly_cold", _CPU), "<=", 3000, "µs"),
    Target(
        "CPU per cold 31-day hourly, Cosmos DB path",
        ("inprocess_cpu_azure", "range_31d_hourly_cold", _CPU),
        "<=",
        8000,
        "µs",
    ),
    Target("load test p99 during a backfill", ("load_test", "p99_ms"), "<=", 100, "ms"),
    Target("RSS of devhost, reads cached", ("materialization", "rss_after_reads_mib"), "<=", 512, "MiB"),
)


def lookup(results: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    """The value at `path` in nested dicts/lists, or None when any step is missing."""
    node: Any = results
    for step in path:
        in_dict = isinstance(node, dict) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and -len(node) <= step < len(node)
        if in_dict or in_list:
            node = node[step]
        else:
            return None
    return node


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda value, limit: value <= limit,
    ">=": lambda value, limit: value >= limit,
}


def verdict(target: Target, value: Any) -> Verdict:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "N/A"
    return "PASS" if _COMPARE[target.op](float(value), target.threshold) else "MISS"


def evaluate(results: dict[str, Any], targets: tuple[Target, ...] = TARGETS) -> list[dict[str, Any]]:
    """One row per target: name, target text, measured value (None when not measured) and verdict."""
    rows = []
    for target in targets:
        value = lookup(results, target.path)
        rows.append(
            {"target": target.name, "goal": target.describe(), "measured": value, "verdict": verdict(target, value)}
        )
    return rows


# --- the summary ------------------------------------------------------------------------------------------


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
    for section, where in (("inprocess_cpu", "embedded"), ("inprocess_cpu_azure", "cosmosdb-server + Azurite")):
        for shape, figures in (results.get(section) or {}).items():
            label = f"CPU per request in process, {where}: {shape}"
            unit = f"µs, p50 {figures.get('cpu_us_p50')} p99 {figures.get('cpu_us_p99')} ({figures.get('function')})"
            rows.append([label, figures.get("cpu_us_per_request"), unit])
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
