"""Timer triggers: NCRONTAB schedules (seconds first), %SETTING% resolved, a failing body keeps its schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from devhost.functions import FunctionInfo
from devhost.timer_triggers import TimerStatus, next_fire, run_timer


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("0 */15 * * * *", datetime(2024, 1, 1, 0, 7, tzinfo=UTC), datetime(2024, 1, 1, 0, 15, tzinfo=UTC)),
        ("*/10 * * * * *", datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 10, tzinfo=UTC)),
        ("30 2 * * *", datetime(2024, 1, 1, 3, 0, tzinfo=UTC), datetime(2024, 1, 2, 2, 30, tzinfo=UTC)),
    ],
)
def test_ncrontab_seconds_come_first(schedule: str, after: datetime, expected: datetime) -> None:
    assert next_fire(schedule, after) == expected


def timer_function(name: str, schedule: str, calls: list[str], *, fail: bool = False) -> FunctionInfo:
    def user_function(timer: object) -> None:
        calls.append(name)
        if fail:
            raise RuntimeError("timer body failed")

    return FunctionInfo(
        name=name, trigger_type="timerTrigger", trigger_name="timer", user_function=user_function, schedule=schedule
    )


@pytest.mark.parametrize("fail", [False, True])
async def test_a_schedule_from_a_setting_default_fires_at_start_and_keeps_running(fail: bool) -> None:
    calls: list[str] = []
    info = timer_function("tick", "%HOURLY%", calls, fail=fail)
    defaults = {"HOURLY": "0 0 * * * *"}
    task = asyncio.create_task(run_timer(info, run_at_start=True, setting_default=defaults.get))
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0.01)
    assert calls == ["tick"] and not task.done()  # waiting for the next hour, even after a failure
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_unresolved_schedule_disables_the_timer() -> None:
    calls: list[str] = []
    await asyncio.wait_for(run_timer(timer_function("tick", "%UNSET_XYZ%", calls), run_at_start=True), 5)
    assert calls == []


async def test_scheduler_status_reports_a_failing_timer_then_its_recovery() -> None:
    """A timer body that fails is reported in its status (served on /_devhost/scheduler), not only logged."""
    calls: list[str] = []
    outcomes = [True, False]  # fail, then succeed

    def user_function(timer: object) -> None:
        calls.append("tick")
        if outcomes.pop(0):
            raise RuntimeError("store down")

    info = FunctionInfo(
        name="tick",
        trigger_type="timerTrigger",
        trigger_name="timer",
        user_function=user_function,
        schedule="* * * * * *",
    )
    status = TimerStatus("tick")
    task = asyncio.create_task(run_timer(info, run_at_start=True, status=status))
    try:
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.01)
        assert status.last_error == "RuntimeError: store down" and status.last_fired_at is not None
        assert status.schedule == "* * * * * *" and status.next_due_at is not None
        for _ in range(300):  # the next second's firing succeeds
            if len(calls) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(calls) == 2 and status.last_error is None
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_scheduler_status_names_a_disabled_timer() -> None:
    status = TimerStatus("tick")
    await asyncio.wait_for(run_timer(timer_function("tick", "not a cron", []), run_at_start=True, status=status), 5)
    assert status.disabled is not None and "not a cron" in status.disabled
