from __future__ import annotations

import pytest

from bench.http_load import linear_fit, percentile, speedup, summarize


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([4.0, 1.0, 3.0, 2.0], 75, 3.25),  # unsorted input, interpolated
        (list(map(float, range(1, 101))), 99, 99.01),
    ],
)
def test_percentile(values: list[float], pct: float, expected: float) -> None:
    assert percentile(values, pct) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


@pytest.mark.parametrize("pct", [-1, 101])
def test_percentile_rejects_out_of_range(pct: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0], pct)


def test_summarize_counts_errors_in_throughput_not_in_latency() -> None:
    summary = summarize([0.001, 0.002, 0.003], errors=1, seconds=2.0)
    assert summary["requests"] == 4
    assert summary["errors"] == 1
    assert summary["req_per_s"] == 2.0
    assert summary["p50_ms"] == pytest.approx(2.0)
    assert summary["max_ms"] == pytest.approx(3.0)


def test_summarize_without_successes() -> None:
    summary = summarize([], errors=3, seconds=1.0)
    assert summary["p99_ms"] is None and summary["requests"] == 3


@pytest.mark.parametrize(
    ("precomputed", "ondemand", "expected"),
    [(1.0, 180.0, 180.0), (2.0, 3.0, 1.5), (None, 3.0, None), (0.0, 3.0, None), (1.0, None, None)],
)
def test_speedup(precomputed: float | None, ondemand: float | None, expected: float | None) -> None:
    assert speedup(precomputed, ondemand) == expected


def test_linear_fit_recovers_a_line() -> None:
    fit = linear_fit([1, 3, 10], [50, 150, 500])
    assert fit is not None
    assert fit[0] == pytest.approx(50) and fit[1] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize(("xs", "ys"), [([1], [2]), ([2, 2], [1, 3]), ([1, 2], [1])])
def test_linear_fit_undefined(xs: list[float], ys: list[float]) -> None:
    assert linear_fit(xs, ys) is None
