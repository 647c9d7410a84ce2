"""Timer triggers on their NCRONTAB schedule (seconds first), with %SETTING% resolved from env."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from croniter import croniter

from devhost.functions import FunctionInfo, resolve_setting_expressions
from devhost.invoke import invoke, timer_request

log = logging.getLogger("devhost.timers")


def next_fire(schedule: str, after: datetime) -> datetime:
    """Next occurrence of a 6-field NCRONTAB expression (or 5 fields, minutes first) after `after`."""
    fields = schedule.split()
    it = croniter(schedule, after, second_at_beginning=len(fields) == 6)
    return it.get_next(datetime)  # type: ignore[no-any-return]


async def fire(info: FunctionInfo) -> None:
    try:
        await invoke(info, {info.trigger_name: timer_request()})
    except Exception:  # a failing timer function must not stop the schedule (as in the real host)
        log.exception("timer function %s failed", info.name)


async def run_timer(info: FunctionInfo, *, run_at_start: bool) -> None:
    """Fire `info` at start (optionally) then forever on its schedule; cancel the task to stop."""
    assert info.schedule is not None
    schedule = resolve_setting_expressions(info.schedule)
    next_fire(schedule, datetime.now(UTC))  # fail fast on a bad expression
    if run_at_start or info.run_on_startup:
        await fire(info)
    while True:
        now = datetime.now(UTC)
        due = next_fire(schedule, now)
        await asyncio.sleep((due - now).total_seconds())
        await fire(info)
