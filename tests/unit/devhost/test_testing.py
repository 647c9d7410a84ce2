"""devhost.testing.DevHost, the benchmark's devhost: its timer runs the first materialization at start, then
stays out of the cells."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from devhost.testing import QUIET_SCHEDULE, DevHost, new_api_keys
from devhost.timer_triggers import next_fire


def test_the_timer_fires_at_start_then_not_within_a_run(tmp_path: Path) -> None:
    host = DevHost(tmp_path, new_api_keys())
    assert host.process.env["MATERIALIZE_SCHEDULE"] == QUIET_SCHEDULE
    # devhost still fires it at start (run_at_start); the next time is 1 January, whatever the run's hour.
    for moment in (datetime(2026, 12, 1, 10, 59, 59, tzinfo=UTC), datetime(2027, 6, 30, 23, 45, tzinfo=UTC)):
        assert next_fire(QUIET_SCHEDULE, moment) == datetime(moment.year + 1, 1, 1, tzinfo=UTC)


def test_a_benchmark_may_set_its_own_schedule(tmp_path: Path) -> None:
    host = DevHost(tmp_path, new_api_keys(), extra_env={"MATERIALIZE_SCHEDULE": "0 */5 * * * *"})
    assert host.process.env["MATERIALIZE_SCHEDULE"] == "0 */5 * * * *"
