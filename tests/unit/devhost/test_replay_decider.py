"""The replay decider alone: histories built in memory, the SDK's real replay, no store and no clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from devhost import history as h
from devhost.functions import FunctionIndex
from devhost.instance import Instance
from devhost.replay_decider import Outcome, context_input, decide
from devhost.transitions import decision_event, json_or_none

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def started(name: str, input_json: str | None = None) -> Instance:
    """A new instance whose ExecutionStarted event is the one pending event."""
    stamp = h.iso_seconds(T0)
    return Instance(
        instance_id="i", name=name, execution_id="e", status="Pending", input=input_json, created=stamp, updated=stamp
    )


def episode(
    inst: Instance, new: list[dict[str, Any]], functions: FunctionIndex, *, skip: bool = True
) -> tuple[Outcome, list[dict[str, Any]]]:
    """Decide one episode and keep its history as the scheduler would (without writing anything)."""
    full = [*inst.history, h.event(h.ORCHESTRATOR_STARTED, T0), *new]
    outcome = decide(inst, full, functions, skip_needless_replays=skip)
    known = {e["EventId"] for e in full if e["EventType"] in h.SCHEDULING_EVENTS}
    fresh = [d for d in outcome.decisions or [] if d.event_id not in known]
    inst.history = [*full, *(decision_event(d, T0) for d in fresh)]
    inst.actions = outcome.actions or inst.actions
    inst.custom_status = json_or_none(outcome.custom_status)
    inst.status = "Running" if outcome.status == "Running" else outcome.status
    return outcome, [decision_event(d, T0) for d in fresh]


def begin(inst: Instance) -> dict[str, Any]:
    return h.execution_started(T0, inst.name, context_input(inst.input), inst.instance_id, inst.execution_id)


def test_a_sequence_decides_one_activity_per_episode_then_completes(scenario_index: FunctionIndex) -> None:
    inst = started("sequence")
    outcome, scheduled = episode(inst, [begin(inst)], scenario_index)
    results: list[int] = []
    for _ in range(3):
        assert outcome.status == "Running" and [(e["Name"], e["EventId"]) for e in scheduled] == [
            ("double", len(results))
        ]
        value = 2 * (results[-1] if results else 1)
        results.append(value)
        outcome, scheduled = episode(inst, [h.task_completed(T0, scheduled[0]["EventId"], str(value))], scenario_index)
    assert (outcome.status, outcome.output, scheduled) == ("Completed", [2, 4, 8], [])


def test_continue_as_new_carries_the_next_input(scenario_index: FunctionIndex) -> None:
    inst = started("counter", "0")
    _, [scheduled] = episode(inst, [begin(inst)], scenario_index)
    outcome, _ = episode(inst, [h.task_completed(T0, scheduled["EventId"], "0")], scenario_index)
    assert outcome.status == "ContinuedAsNew" and outcome.continue_as_new is not None
    assert outcome.continue_as_new["input"] == "1"  # the SDK sends the new input as JSON text


@pytest.mark.parametrize(
    ("name", "history", "message"),
    [
        ("no_such_orchestrator", [], "The function 'no_such_orchestrator' doesn't exist"),
        ("unknown_activity", [], "The function 'no_such_activity' doesn't exist, is disabled"),
        (
            "sequence",
            [h.event(h.TASK_SCHEDULED, T0, 0, Name="slow", Version="", Input="1")],
            "Non-deterministic workflow detected: event 0 was slow and is now double on replay.",
        ),
    ],
)
def test_broken_episodes_fail_with_the_extensions_message(
    scenario_index: FunctionIndex, name: str, history: list[dict[str, Any]], message: str
) -> None:
    inst = started(name)
    outcome, scheduled = episode(inst, [begin(inst), *history], scenario_index)
    assert outcome.status == "Failed" and message in outcome.output and scheduled == []


def test_a_completion_that_cannot_resume_the_orchestrator_skips_the_replay(scenario_index: FunctionIndex) -> None:
    outcomes: dict[bool, list[tuple[str, Any, list[int], bool]]] = {}
    for skip in (True, False):
        inst = started("fan_out", "3")
        _, scheduled = episode(inst, [begin(inst)], scenario_index, skip=skip)
        seen = []
        for index, event in enumerate(scheduled):
            done = h.task_completed(T0, event["EventId"], str(2 * index))
            outcome, _ = episode(inst, [done], scenario_index, skip=skip)
            ids = [d.event_id for d in outcome.decisions or []]
            seen.append((outcome.status, outcome.custom_status, ids, outcome.replayed))
        outcomes[skip] = seen
    assert [s[3] for s in outcomes[True]] == [False, False, True]  # only the last completion resumes it
    assert all(replayed for *_, replayed in outcomes[False])
    assert [s[:3] for s in outcomes[True]] == [s[:3] for s in outcomes[False]]
    assert outcomes[True][-1][:2] == ("Completed", {"stage": "done"})


@pytest.mark.parametrize(
    ("stored", "expected"),
    [(None, None), ('"text"', "text"), ('{"a": 1}', {"a": 1}), ("3", "3"), ("[1, 2]", "[1, 2]")],
)
def test_context_input_is_what_the_sdk_accepts(stored: str | None, expected: Any) -> None:
    assert context_input(stored) == expected
