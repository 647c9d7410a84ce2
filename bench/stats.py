"""Latency statistics: percentiles, throughput and the precomputed / on-demand ratio."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict


class LatencySummary(TypedDict):
    requests: int
    errors: int
    seconds: float
    req_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {pct}")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(latencies_s: Sequence[float], errors: int, seconds: float) -> LatencySummary:
    """Percentiles in ms of the successful requests; req/s counts every request sent, errors included."""
    total = len(latencies_s) + errors

    def ms(pct: float) -> float | None:
        value = percentile(latencies_s, pct)
        return None if value is None else round(value * 1000, 3)

    return LatencySummary(
        requests=total,
        errors=errors,
        seconds=round(seconds, 3),
        req_per_s=round(total / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=ms(50),
        p95_ms=ms(95),
        p99_ms=ms(99),
        max_ms=round(max(latencies_s) * 1000, 3) if latencies_s else None,
    )


def speedup(precomputed_ms: float | None, ondemand_ms: float | None) -> float | None:
    """How many times faster the precomputed path is (on-demand / precomputed); None when unknown."""
    if precomputed_ms is None or ondemand_ms is None or precomputed_ms <= 0:
        return None
    return round(ondemand_ms / precomputed_ms, 1)


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Least-squares slope and intercept of ys over xs (how materialization time grows); None if undefined."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var_x = sum((x - mean_x) ** 2 for x in xs)
    if var_x == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var_x
    return slope, mean_y - slope * mean_x
