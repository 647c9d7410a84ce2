"""One episode's decision, computed purely: the orchestrator replayed over a history, no store, no clock.

The SDK's orchestrator function turns the history into cumulative actions; the shim allocates event ids
for them and says which are new. The result says what the episode does: keep running with new scheduling
decisions, complete, fail, or continue as new. The scheduler commits it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from devhost import history as h
from devhost.functions import FunctionInfo
from devhost.instance import Instance
from devhost.shim import Decision, UnsupportedAction, find_nondeterminism, replay_actions

# The SDK raises this marker + its JSON state when an orchestrator throws (out-of-process protocol).
_OOP_MARK = "\n\n$OutOfProcData$:"
# Fields the extension adds to the orchestration context (replay schema V2).
_CONTEXT_EXTRAS = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "longRunningTimerIntervalDuration": "3.00:00:00",
    "maximumShortTimerDuration": "6.00:00:00",
}
# New events that can resume the orchestrator's generator on their own (beyond a completed top-level action).
_RESUMING_EVENTS = frozenset({h.EXECUTION_STARTED, h.TASK_FAILED, h.SUB_FAILED, h.EVENT_RAISED})


class FunctionLookup(Protocol):
    """The part of the function index the decider needs (orchestrators and activities by durable name)."""

    def orchestrator(self, name: str) -> FunctionInfo | None: ...

    def activity(self, name: str) -> FunctionInfo | None: ...


@dataclass(kw_only=True)
class Outcome:
    status: str  # Running | Completed | Failed | ContinuedAsNew
    output: Any = None
    custom_status: Any = None
    actions: list[dict[str, Any]] | None = None
    decisions: list[Decision] | None = None
    continue_as_new: dict[str, Any] | None = None
    replayed: bool = True  # False when the SDK was not called (the new events could not resume it)


def context_input(stored: str | None) -> Any:
    """The SDK accepts a JSON-text string or a dict; anything else is passed as its JSON text."""
    if stored is None:
        return None
    value = json.loads(stored)
    return value if isinstance(value, str | dict) else stored


def decide(
    inst: Instance, full: list[dict[str, Any]], functions: FunctionLookup, *, skip_needless_replays: bool = True
) -> Outcome:
    """Replay `inst`'s orchestrator over `full` (its history + this episode's new events)."""
    if skip_needless_replays:
        unchanged = _unchanged_by(inst, full)
        if unchanged is not None:
            return unchanged
    info = functions.orchestrator(inst.name)
    if info is None:
        return Outcome(
            status="Failed",
            output=f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator function.",
        )
    context = {
        "history": full,
        "input": context_input(inst.input),
        "instanceId": inst.instance_id,
        "isReplaying": False,
        "parentInstanceId": (inst.parent or {}).get("instance_id"),
        **_CONTEXT_EXTRAS,
    }
    fail_prefix = f"Orchestrator function '{inst.name}' failed: "
    try:
        state = json.loads(info.user_function(json.dumps(context)))
    except Exception as exc:
        message = str(exc)
        if _OOP_MARK not in message:
            return Outcome(status="Failed", output=fail_prefix + f"{type(exc).__name__}: {message}")
        error, _, data = message.partition(_OOP_MARK)
        state = json.loads(data)
        state.setdefault("error", error)
    if "schemaVersion" not in state:
        return Outcome(status="Failed", output=fail_prefix + "replay schema V1 is not supported by devhost")
    actions = state["actions"][0] if state.get("actions") else []
    custom = state.get("customStatus")
    problem = find_nondeterminism(inst.actions, actions)
    try:
        shim = replay_actions(inst.instance_id, actions, full)
    except UnsupportedAction as exc:
        problem = problem or str(exc)
    if problem:
        return Outcome(status="Failed", output=fail_prefix + problem, custom_status=custom, actions=actions)
    problem = _check_decisions(full, shim.decisions, functions)
    if problem:
        return Outcome(status="Failed", output=fail_prefix + problem, custom_status=custom, actions=actions)
    running = {"custom_status": custom, "actions": actions, "decisions": shim.decisions}
    if state.get("error"):
        return Outcome(status="Failed" if shim.all_done else "Running", output=fail_prefix + state["error"], **running)
    if state.get("isDone") and shim.all_done:
        if shim.continue_as_new is not None:
            return Outcome(status="ContinuedAsNew", continue_as_new=shim.continue_as_new, **running)
        return Outcome(status="Completed", output=state.get("output"), **running)
    return Outcome(status="Running", **running)


def _unchanged_by(inst: Instance, full: list[dict[str, Any]]) -> Outcome | None:
    """The outcome without calling the SDK, when the new events cannot resume the orchestrator.

    The generator only resumes when the task it yielded last (the current top-level action) completes,
    or fails fast in the SDK's task_all. So when no failure or external event arrived and the shim's
    cursor stays on the same unfinished action, the SDK would return the same actions and custom status:
    only the shim's own decisions (retry timers, next attempts) change. Saves most replays of a fan-out.
    """
    new = full[len(inst.history) :]
    if not inst.actions or inst.status != "Running":
        return None
    if any(e["EventType"] in _RESUMING_EVENTS for e in new):
        return None
    after = replay_actions(inst.instance_id, inst.actions, full, mark=len(inst.history))  # one walk, not two
    if after.all_done or after.cursor != after.cursor_at_mark:
        return None
    custom = json.loads(inst.custom_status) if inst.custom_status else None
    return Outcome(
        status="Running", custom_status=custom, actions=inst.actions, decisions=after.decisions, replayed=False
    )


def _check_decisions(full: list[dict[str, Any]], decisions: list[Decision], functions: FunctionLookup) -> str | None:
    """A replayed decision that differs from the history, or a new one naming no function: the message."""
    scheduled = {e["EventId"]: e for e in full if e["EventType"] in h.SCHEDULING_EVENTS}
    kinds = {"activity": h.TASK_SCHEDULED, "suborch": h.SUB_CREATED, "timer": h.TIMER_CREATED}
    for d in decisions:
        old = scheduled.get(d.event_id)
        if old is not None:
            if old["EventType"] != kinds[d.kind] or (
                str(old.get("Name")).lower() != str(d.name).lower() and d.kind != "timer"
            ):
                was, now = old.get("Name") or "a timer", d.name or "a timer"
                return f"Non-deterministic workflow detected: event {d.event_id} was {was} and is now {now} on replay."
        elif d.kind == "activity" and functions.activity(d.name or "") is None:
            return (
                f"The function '{d.name}' doesn't exist, is disabled, or is not an activity function. "
                f"Additional info: no activity named '{d.name}' is registered."
            )
        elif d.kind == "suborch" and functions.orchestrator(d.name or "") is None:
            return f"The function '{d.name}' doesn't exist, is disabled, or is not an orchestrator function."
    return None
