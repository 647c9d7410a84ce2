"""Timer triggers on their NCRONTAB schedule (seconds first), with %SETTING% resolved from env."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from devhost.functions import FunctionInfo, resolve_setting_expressions
from devhost.invoke import invoke, timer_request

log = logging.getLogger("devhost.timers")


@dataclass
class TimerStatus:
    """A timer's last firing and its outcome, for /_devhost/scheduler (its failures are otherwise log lines)."""

    name: str
    schedule: str | None = None
    last_fired_at: str | None = None
    last_error: str | None = None  # of the last firing; None when it succeeded
    next_due_at: str | None = None
    disabled: str | None = None  # why it never runs (a bad schedule)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def next_fire(schedule: str, after: datetime) -> datetime:
    """Next occurrence of a 6-field NCRONTAB expression (or 5 fields, minutes first) after `after`."""
    fields = schedule.split()
    it = croniter(schedule, after, second_at_beginning=len(fields) == 6)
    return it.get_next(datetime)


async def fire(info: FunctionInfo, client_binding: str | None = None, status: TimerStatus | None = None) -> None:
    kwargs: dict[str, Any] = {info.trigger_name: timer_request()}
    if info.client_binding:
        kwargs[info.client_binding] = client_binding
    if status is not None:
        status.last_fired_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        await invoke(info, kwargs)
    except Exception as exc:  # a failing timer function must not stop the schedule (as in the real host)
        log.exception("timer function %s failed", info.name)
        if status is not None:
            status.last_error = f"{type(exc).__name__}: {exc}"
    else:
        if status is not None:
            status.last_error = None


async def run_timer(
    info: FunctionInfo,
    *,
    run_at_start: bool,
    client_binding: str | None = None,
    setting_default: Callable[[str], str | None] | None = None,
    status: TimerStatus | None = None,
) -> None:
    """Fire `info` at start (optionally) then forever on its schedule; cancel the task to stop."""
    assert info.schedule is not None
    status = status or TimerStatus(info.name)
    schedule = resolve_setting_expressions(info.schedule, default=setting_default)
    status.schedule = schedule
    try:
        next_fire(schedule, datetime.now(UTC))
    except (ValueError, KeyError) as exc:
        log.error("timer %s disabled: bad schedule %r (%s)", info.name, schedule, exc)
        status.disabled = f"bad schedule {schedule!r}: {exc}"
        return
    if run_at_start or info.run_on_startup:
        await fire(info, client_binding, status)
    while True:
        now = datetime.now(UTC)
        due = next_fire(schedule, now)
        status.next_due_at = due.isoformat(timespec="seconds")
        await asyncio.sleep((due - now).total_seconds())
        await fire(info, client_binding, status)
