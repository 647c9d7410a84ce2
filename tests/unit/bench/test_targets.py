from __future__ import annotations

from typing import Any

import pytest

from bench.report import TARGETS, Target, evaluate, lookup, verdict

LE = Target("latency", ("a", "b"), "<=", 10, "ms")
GE = Target("ratio", ("r",), ">=", 100, "x")


@pytest.mark.parametrize(
    ("target", "value", "expected"),
    [
        (LE, 9.9, "PASS"),
        (LE, 10, "PASS"),
        (LE, 10.01, "MISS"),
        (GE, 100, "PASS"),
        (GE, 99.9, "MISS"),
        (GE, None, "N/A"),
        (GE, "fast", "N/A"),
        (GE, True, "N/A"),
    ],
)
def test_verdict(target: Target, value: Any, expected: str) -> None:
    assert verdict(target, value) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [(("a", "b"), 3), (("a", "missing"), None), (("l", 1), 20), (("l", 5), None), (("a", "b", "c"), None)],
)
def test_lookup(path: tuple[str | int, ...], expected: Any) -> None:
    assert lookup({"a": {"b": 3}, "l": [10, 20]}, path) == expected


def test_evaluate_reports_each_target_with_its_figure() -> None:
    rows = evaluate({"a": {"b": 12.5}}, (LE, GE))
    assert rows == [
        {"target": "latency", "goal": "<= 10 ms", "measured": 12.5, "verdict": "MISS"},
        {"target": "ratio", "goal": ">= 100 x", "measured": None, "verdict": "N/A"},
    ]


def test_issue_targets_are_all_there() -> None:
    goals = {t.name: (t.op, t.threshold) for t in TARGETS}
    assert goals["31-day hourly query p99 @ c16"] == ("<=", 10)
    assert goals["1-day incremental"] == ("<=", 3)
    assert goals["peak RSS of devhost"] == ("<=", 1024)
    assert goals["full backfill, 1 year x 12 regions"] == ("<=", 60)
    assert goals["point reads per second (best c)"] == (">=", 3000)
    assert "point reads @ c16 vs bare aiohttp floor" not in goals  # context only (issue 23)
    assert goals["CPU per point read, Cosmos DB path (warm)"] == ("<=", 100)
    assert goals["CPU per 31-day hourly, Cosmos DB path (warm)"] == ("<=", 300)
    assert goals["CPU per point read, Cosmos DB path (cache miss)"] == ("<=", 2500)
    assert goals["CPU per cold 31-day hourly, embedded"] == ("<=", 3000)
    assert goals["CPU per cold 31-day hourly, Cosmos DB path"] == ("<=", 8000)
    assert goals["load test p99 during a backfill"] == ("<=", 100)
    sections = {"api", "ratios", "materialization", "load_test", "floor", "inprocess_cpu", "inprocess_cpu_azure"}
    assert all(t.path[0] in sections for t in TARGETS)
