"""The issue's targets and their verdict against the measured figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

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
    # Issue 11: the read path at the physical floor.
    Target("point reads @ c16 vs bare aiohttp floor", ("floor", "api_to_floor"), ">=", 0.5, "x floor req/s"),
    Target("point read p99 @ c16", ("api", "point_read", "16", "p99_ms"), "<=", 10, "ms"),
    Target("1-year daily p99 @ c16", ("api", "range_1y_daily", "16", "p99_ms"), "<=", 10, "ms"),
    Target("CPU per point read (in process)", ("inprocess_cpu", "point_read", "cpu_us_per_request"), "<=", 30, "µs"),
    Target(
        "CPU per 31-day hourly (in process)",
        ("inprocess_cpu", "range_31d_hourly", "cpu_us_per_request"),
        "<=",
        60,
        "µs",
    ),
    Target(
        "CPU per 1-year daily (in process)", ("inprocess_cpu", "range_1y_daily", "cpu_us_per_request"), "<=", 60, "µs"
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
