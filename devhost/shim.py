"""Replays the SDK's cumulative actions the way the extension's shim + DTFx do, to allocate event ids.

The whole history is walked from scratch on every episode (as DTFx replays the .NET shim): top-level
actions are awaited one after the other, WhenAll waits for every child (even after a failure), WhenAny
for the first, retries add a timer after every failed attempt (the last one included), and completion
events are applied in history order, advancing the sequential cursor after each one.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost import history as h

CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT = 4, 5, 6
WHEN_ANY, WHEN_ALL = 11, 12
UNSUPPORTED = {7: "call_entity", 8: "call_http", 9: "signal_entity", 10: "noop"}


class UnsupportedAction(Exception):
    """An action devhost does not implement (entities, call_http)."""


@dataclass
class Decision:
    """A scheduling event allocated by the shim (activity attempt, sub-orchestration, timer)."""

    event_id: int
    kind: str  # "activity" | "suborch" | "timer"
    name: str | None = None
    input: Any = None
    instance_id: str | None = None
    fire_at: str | None = None


@dataclass
class Node:
    action: dict[str, Any]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    scheduled: bool = False
    done: bool = False
    failed: bool = False
    attempts: int = 0


@dataclass
class ShimResult:
    decisions: list[Decision]
    all_done: bool
    continue_as_new: dict[str, Any] | None
    cursor: int = 0  # index of the top-level action being awaited
    cursor_at_mark: int | None = None  # the cursor once the first `mark` events were applied (when asked)


def _build(action: dict[str, Any], parent: Node | None = None) -> Node:
    node = Node(action=action, parent=parent)
    node.children = [_build(child, node) for child in action.get("compoundActions") or []]
    return node


class _Simulation:
    def __init__(self, instance_id: str, actions: list[dict[str, Any]]) -> None:
        self.instance_id = instance_id
        self.top = [_build(a) for a in actions]
        self.cursor = 0
        self.seq = 0
        # The current episode's OrchestratorStarted timestamp, parsed only when a retry timer needs it: a long
        # fan-out's history holds one per episode and parsing each made the walk ~3x slower.
        self.now_text: str | None = None
        self.decisions: list[Decision] = []
        self.by_task: dict[int, Node] = {}
        self.by_timer: dict[int, Node] = {}
        self.waiting: dict[str, deque[Node]] = defaultdict(deque)
        self.buffered: dict[str, int] = defaultdict(int)
        self.can: dict[str, Any] | None = None

    def _next_id(self) -> int:
        self.seq += 1
        return self.seq - 1

    def _schedule_attempt(self, node: Node) -> None:
        a = node.action
        event_id = self._next_id()
        self.by_task[event_id] = node
        if a["actionType"] in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
            self.decisions.append(Decision(event_id, "activity", a.get("functionName"), a.get("input")))
        else:
            child_id = a.get("instanceId") or f"{self.instance_id}:{event_id:04d}"
            self.decisions.append(Decision(event_id, "suborch", a.get("functionName"), a.get("input"), child_id))

    def _schedule(self, node: Node) -> None:
        node.scheduled = True
        kind = node.action["actionType"]
        if kind in UNSUPPORTED:
            raise UnsupportedAction(f"devhost does not support {UNSUPPORTED[kind]} (actionType {kind})")
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY):
            self._schedule_attempt(node)
        elif kind == CREATE_TIMER:
            timer_id = self._next_id()
            self.decisions.append(Decision(timer_id, "timer", fire_at=node.action.get("fireAt")))
            if node.action.get("isCanceled"):
                self._settle(node, failed=False)  # a cancelled timer is not waited for
            else:
                self.by_timer[timer_id] = node
        elif kind == WAIT_EVENT:
            name = str(node.action.get("externalEventName", "")).lower()
            if self.buffered[name]:
                self.buffered[name] -= 1
                self._settle(node, failed=False)
            else:
                self.waiting[name].append(node)
        elif kind == CONTINUE_AS_NEW:
            self.can = node.action
            self._settle(node, failed=False)
        elif kind in (WHEN_ALL, WHEN_ANY):
            for child in node.children:
                self._schedule(child)
            if not node.done and (not node.children or (kind == WHEN_ALL and all(c.done for c in node.children))):
                self._settle(node, failed=any(c.failed for c in node.children))
        else:
            raise UnsupportedAction(f"unknown actionType {kind}")

    def _settle(self, node: Node, *, failed: bool) -> None:
        if node.done:
            return
        node.done, node.failed = True, failed
        parent = node.parent
        if parent is None or parent.done:
            return
        if parent.action["actionType"] == WHEN_ANY:
            self._settle(parent, failed=False)
        elif all(c.done for c in parent.children):
            self._settle(parent, failed=any(c.failed for c in parent.children))

    def advance(self) -> None:
        while self.cursor < len(self.top):
            node = self.top[self.cursor]
            if not node.scheduled:
                self._schedule(node)
            if not node.done:
                return
            self.cursor += 1

    def _retry_options(self, node: Node) -> dict[str, Any] | None:
        if node.action["actionType"] in (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY):
            return node.action.get("retryOptions") or {}
        return None

    def _on_failure(self, node: Node) -> None:
        options = self._retry_options(node)
        if options is None:
            self._settle(node, failed=True)
            return
        # DTFx RetryInterceptor: a timer after every failed attempt, the last one included.
        node.attempts += 1
        first_ms = int(options.get("firstRetryIntervalInMilliseconds", 0))
        backoff = float(options.get("backoffCoefficient", 1) or 1)
        delay_ms = first_ms * backoff ** (node.attempts - 1)
        if options.get("maxRetryIntervalInMilliseconds"):
            delay_ms = min(delay_ms, float(options["maxRetryIntervalInMilliseconds"]))
        assert self.now_text is not None
        now: datetime = h.parse_time(self.now_text)
        timer_id = self._next_id()
        self.by_timer[timer_id] = node
        self.decisions.append(Decision(timer_id, "timer", fire_at=h.iso(now + timedelta(milliseconds=delay_ms))))

    def _on_timer(self, node: Node) -> None:
        options = self._retry_options(node)
        if options is None or node.action["actionType"] == CREATE_TIMER:
            self._settle(node, failed=False)
        elif node.attempts >= int(options.get("maxNumberOfAttempts", 1)):
            self._settle(node, failed=True)
        else:
            self._schedule_attempt(node)

    def apply(self, ev: dict[str, Any]) -> None:
        kind = ev["EventType"]
        if kind == h.ORCHESTRATOR_STARTED:
            self.now_text = ev["Timestamp"]
        elif kind in (h.TASK_COMPLETED, h.SUB_COMPLETED):
            node = self.by_task.pop(ev["TaskScheduledId"], None)
            if node is not None:
                self._settle(node, failed=False)
        elif kind in (h.TASK_FAILED, h.SUB_FAILED):
            node = self.by_task.pop(ev["TaskScheduledId"], None)
            if node is not None:
                self._on_failure(node)
        elif kind == h.TIMER_FIRED:
            node = self.by_timer.pop(ev["TimerId"], None)
            if node is not None:
                self._on_timer(node)
        elif kind == h.EVENT_RAISED:
            name = str(ev.get("Name", "")).lower()
            if self.waiting[name]:
                self._settle(self.waiting[name].popleft(), failed=False)
            else:
                self.buffered[name] += 1
        self.advance()


def replay_actions(
    instance_id: str, actions: list[dict[str, Any]], events: list[dict[str, Any]], *, mark: int | None = None
) -> ShimResult:
    """Allocate ids for `actions` against the full history `events` (old and new, in order). With `mark`,
    also the cursor a walk of only `events[:mark]` ends on (the walk is sequential: the same state there)."""
    sim = _Simulation(instance_id, actions)
    for ev in events:
        if ev["EventType"] == h.ORCHESTRATOR_STARTED and sim.now_text is None:
            sim.now_text = ev["Timestamp"]
    sim.advance()
    cursor_at_mark = sim.cursor if mark == 0 else None
    for index, ev in enumerate(events, 1):
        sim.apply(ev)
        if index == mark:
            cursor_at_mark = sim.cursor
    all_done = sim.cursor >= len(sim.top)
    return ShimResult(sim.decisions, all_done, sim.can if all_done else None, sim.cursor, cursor_at_mark)


def action_signature(action: dict[str, Any]) -> tuple[Any, ...]:
    """What must stay identical between replays of the same top-level action."""
    children = tuple(action_signature(c) for c in action.get("compoundActions") or [])
    name = action.get("functionName") or action.get("externalEventName")
    return (action.get("actionType"), str(name).lower() if name else None, children)


def find_nondeterminism(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> str | None:
    """A message when a replayed top-level action differs from what the last episode returned."""
    for index, (old, new) in enumerate(zip(previous, current, strict=False)):
        if action_signature(old) != action_signature(new):
            return (
                f"Non-deterministic workflow detected: action {index} was {action_signature(old)} "
                f"and is now {action_signature(new)} on replay. Orchestrator code must be deterministic."
            )
    return None
