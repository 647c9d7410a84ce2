from __future__ import annotations

from typing import Any

import pytest

from bench.run import activities_run, run_seconds


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"createdTime": "2024-01-01T00:00:00Z", "lastUpdatedTime": "2024-01-01T00:01:30.5Z"}, 90.5),
        ({"createdTime": "2024-01-01T00:00:00+00:00", "lastUpdatedTime": "2024-01-01T00:00:02+00:00"}, 2.0),
        ({"createdTime": "2024-01-01T00:00:00Z"}, None),
        ({"createdTime": "yesterday", "lastUpdatedTime": "2024-01-01T00:00:02Z"}, None),
    ],
)
def test_run_seconds(status: dict[str, Any], expected: float | None) -> None:
    assert run_seconds(status) == expected


@pytest.mark.parametrize(
    ("history", "output", "expected"),
    [
        ({"historyEvents": [{"EventType": 5}, {"EventType": 4}, {"EventType": 5}]}, None, 2),
        ({"historyEvents": [{"EventType": "TaskCompleted"}, {"EventType": "TaskScheduled"}]}, None, 1),
        (None, {"batches": 144}, 146),  # plan + batches + commit
        ({"historyEvents": []}, {"batches": 3}, 5),
        (None, None, None),
    ],
)
def test_activities_run(history: dict[str, Any] | None, output: dict[str, Any] | None, expected: int | None) -> None:
    assert activities_run(history, output) == expected
