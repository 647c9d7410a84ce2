"""Event id allocation against handcrafted histories (the extension shim + DTFx rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from devhost import history as h
from devhost.shim import find_nondeterminism, replay_actions

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def activity(name: str, retry: dict[str, int] | None = None) -> dict[str, Any]:
    if retry is None:
        return {"actionType": 0, "functionName": name, "input": "1"}
    return {"actionType": 1, "functionName": name, "input": "1", "retryOptions": retry}


def when_all(*children: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": 12, "compoundActions": list(children)}


def started() -> list[dict[str, Any]]:
    return [h.event(h.ORCHESTRATOR_STARTED, T0), h.execution_started(T0, "o", None, "i", "e")]


def test_sequential_actions_are_scheduled_one_at_a_time() -> None:
    actions = [activity("a"), activity("b")]
    first = replay_actions("i", actions, started())
    assert [(d.event_id, d.name) for d in first.decisions] == [(0, "a")]
    second = replay_actions("i", actions, [*started(), h.task_completed(T0, 0, "1")])
    assert [(d.event_id, d.name) for d in second.decisions] == [(0, "a"), (1, "b")]
    assert not second.all_done


def test_when_all_allocates_depth_first_and_waits_for_every_child_after_a_failure() -> None:
    actions = [when_all(activity("a"), activity("b"), activity("c")), activity("d")]
    events = [*started(), h.task_failed(T0, 1, "boom", None), h.task_completed(T0, 0, "1")]
    result = replay_actions("i", actions, events)
    assert [d.event_id for d in result.decisions] == [0, 1, 2]
    assert not result.all_done  # "c" is still running: the WhenAll has not completed
    done = replay_actions("i", actions, [*events, h.task_completed(T0, 2, "1")])
    assert [d.name for d in done.decisions] == ["a", "b", "c", "d"]


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_retry_creates_a_timer_after_every_failed_attempt_including_the_last(attempts: int) -> None:
    actions = [when_all(activity("f", {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": attempts}))]
    events = started()
    next_id = 0
    for attempt in range(attempts):
        events.append(h.task_failed(T0, next_id, "boom", None))
        events.append(h.timer_fired(T0, next_id + 1, h.iso(T0)))
        next_id += 2
        result = replay_actions("i", actions, events)
        last_attempt = attempt == attempts - 1
        assert result.all_done is last_attempt
    kinds = [d.kind for d in result.decisions]
    assert kinds == ["activity", "timer"] * attempts
    assert result.decisions[1].fire_at == "2024-05-01T12:00:01.000000Z"


def test_external_event_before_the_wait_is_buffered_and_consumes_no_id() -> None:
    actions = [{"actionType": 6, "externalEventName": "Go"}, activity("a")]
    result = replay_actions("i", actions, [*started(), h.event_raised(T0, "go", '"x"')])
    assert [(d.event_id, d.name) for d in result.decisions] == [(0, "a")]


def test_cancelled_timer_is_not_waited_for() -> None:
    actions = [{"actionType": 5, "fireAt": "2024-05-01T13:00:00.000000Z", "isCanceled": True}]
    assert replay_actions("i", actions, started()).all_done


@pytest.mark.parametrize(
    ("old", "new", "differs"),
    [
        ([activity("a")], [activity("a"), activity("b")], False),
        ([activity("a")], [activity("b")], True),
        ([when_all(activity("a"))], [when_all(activity("a"), activity("b"))], True),
        ([activity("A")], [activity("a")], False),
    ],
)
def test_nondeterminism_compares_replayed_actions(
    old: list[dict[str, Any]], new: list[dict[str, Any]], differs: bool
) -> None:
    assert (find_nondeterminism(old, new) is not None) is differs


def test_the_cursor_at_a_mark_is_the_cursor_of_a_walk_over_the_events_before_it() -> None:
    actions = [activity("plan"), when_all(activity("a"), activity("b")), activity("commit")]
    events = [
        *started(),
        h.task_completed(T0, 0, "1"),
        h.event(h.ORCHESTRATOR_STARTED, T0),
        h.task_completed(T0, 2, "1"),
        h.task_completed(T0, 1, "1"),
        h.event(h.ORCHESTRATOR_STARTED, T0),
    ]
    cursors = [replay_actions("i", actions, events[:mark]).cursor for mark in range(len(events) + 1)]
    assert len(set(cursors)) == 3  # the history moves the cursor past the plan and past the fan-out
    for mark, expected in enumerate(cursors):
        assert replay_actions("i", actions, events, mark=mark).cursor_at_mark == expected
