"""DTFx history events as the Python SDK reads them (PascalCase keys, UTC timestamps with a Z)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dateutil import parser as date_parser

EXECUTION_STARTED, EXECUTION_COMPLETED, EXECUTION_TERMINATED = 0, 1, 3
TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 4, 5, 6
SUB_CREATED, SUB_COMPLETED, SUB_FAILED = 7, 8, 9
TIMER_CREATED, TIMER_FIRED = 10, 11
ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED = 12, 13
EVENT_RAISED, CONTINUE_AS_NEW = 15, 16
SCHEDULING_EVENTS = (TASK_SCHEDULED, SUB_CREATED, TIMER_CREATED)


def iso(ts: datetime) -> str:
    """Event timestamp: UTC, microseconds, literal Z (the SDK needs tz-aware values throughout)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(ts: datetime) -> str:
    """Status timestamps carry no fractions (DateTime.ToString("s") + "Z")."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    value = date_parser.isoparse(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def played(ev: dict[str, Any]) -> dict[str, Any]:
    """`ev` marked as played; the same object when it already is (the store then appends only new events)."""
    return ev if ev.get("IsPlayed") is True else {**ev, "IsPlayed": True}


def event(event_type: int, ts: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": iso(ts), **fields}


def execution_started(
    ts: datetime, name: str, input_value: Any, instance_id: str, execution_id: str, parent: Any = None
) -> dict[str, Any]:
    instance = {"InstanceId": instance_id, "ExecutionId": execution_id}
    return event(
        EXECUTION_STARTED,
        ts,
        Name=name,
        Version="",
        Input=input_value,
        OrchestrationInstance=instance,
        ParentInstance=parent,
    )


def task_completed(ts: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return event(TASK_COMPLETED, ts, TaskScheduledId=task_id, Result=result)


def task_failed(ts: datetime, task_id: int, reason: str, details: str | None) -> dict[str, Any]:
    return event(TASK_FAILED, ts, TaskScheduledId=task_id, Reason=reason, Details=details)


def sub_completed(ts: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return event(SUB_COMPLETED, ts, TaskScheduledId=task_id, Result=result)


def sub_failed(ts: datetime, task_id: int, reason: str, details: str | None) -> dict[str, Any]:
    return event(SUB_FAILED, ts, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_fired(ts: datetime, timer_id: int, fire_at: str) -> dict[str, Any]:
    return event(TIMER_FIRED, ts, TimerId=timer_id, FireAt=fire_at)


def event_raised(ts: datetime, name: str, input_text: str | None) -> dict[str, Any]:
    return event(EVENT_RAISED, ts, Name=name, Input=input_text)
