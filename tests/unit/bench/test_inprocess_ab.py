"""The A/B table of bench.inprocess_ab: medians of each side's passes and their ratio."""

from __future__ import annotations

from typing import Any

import pytest

from bench.inprocess_ab import SHAPES, compare


def _pass(cpu_us: float) -> dict[str, dict[str, Any]]:
    return {shape: {"cpu_us_per_request": cpu_us} for shape in SHAPES}


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        ([100.0], [50.0], (100.0, 50.0, 2.0)),
        ([90.0, 300.0, 100.0], [40.0, 50.0, 45.0], (100.0, 45.0, 2.22)),  # medians: an outlier pass moves nothing
        ([30.0, 30.0], [40.0, 40.0], (30.0, 40.0, 0.75)),  # slower now: below 1
    ],
)
def test_each_shape_compares_the_medians_of_its_passes(
    baseline: list[float], current: list[float], expected: tuple[float, float, float]
) -> None:
    rows = compare([_pass(v) for v in baseline], [_pass(v) for v in current])
    assert set(rows) == set(SHAPES)
    for row in rows.values():
        assert (row["baseline_us"], row["current_us"], row["x_less_cpu"]) == expected
