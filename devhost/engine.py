"""The Durable engine: episodes through the SDK's real replay, activities on threads, timers, persistence.

Every decision is committed (history + pending work rows, one transaction) before anything is
dispatched, so a killed host resumes from the database; activities may then run twice (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devhost import history as h
from devhost.clock import Clock, RealClock
from devhost.functions import FunctionIndex
from devhost.invoke import run_activity
from devhost.shim import Decision, UnsupportedAction, find_nondeterminism, replay_actions
from devhost.store import TERMINAL, Instance, Store, WorkRow

log = logging.getLogger("devhost.engine")
_OOP_MARK = "\n\n$OutOfProcData$:"
_CONTEXT_EXTRAS = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "longRunningTimerIntervalDuration": "3.00:00:00",
    "maximumShortTimerDuration": "6.00:00:00",
}


# New events that can resume the orchestrator's generator on their own (beyond a completed top-level action).
_RESUMING_EVENTS = frozenset({h.EXECUTION_STARTED, h.TASK_FAILED, h.SUB_FAILED, h.EVENT_RAISED})


class StartError(Exception):
    """start_new refused: unknown orchestrator (400) or a running instance with that id (409-ish)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Outcome:
    status: str
    output: Any = None
    custom_status: Any = None
    actions: list[dict[str, Any]] | None = None
    decisions: list[Decision] | None = None
    continue_as_new: dict[str, Any] | None = None


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _context_input(stored: str | None) -> Any:
    # The SDK accepts a JSON-text string or a dict; wrap anything else so get_input() still works.
    if stored is None:
        return None
    value = json.loads(stored)
    return value if isinstance(value, str | dict) else stored


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the durable scheduler stopped", exc_info=task.exception())


class DurableEngine:
    def __init__(
        self,
        index: FunctionIndex,
        db_path: Path,
        *,
        clock: Clock | None = None,
        activity_workers: int = 4,
        on_progress: Callable[[Instance], None] | None = None,
    ) -> None:
        self.index = index
        self.store = Store(db_path)
        self.clock = clock or RealClock()
        self.on_progress = on_progress
        self._activities = ThreadPoolExecutor(activity_workers, thread_name_prefix="devhost-activity")
        self._orchestrators = ThreadPoolExecutor(1, thread_name_prefix="devhost-orchestrator")
        self._running: dict[int, asyncio.Future[Any]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self.skip_needless_replays = True
        self.stats = {"episodes": 0, "replays_skipped": 0, "replay_seconds": 0.0, "activities": 0}

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Run the scheduler in the background (server mode); persisted work resumes here."""
        self._loop_task = asyncio.create_task(self._run(stop_when_idle=False))
        self._loop_task.add_done_callback(_log_crash)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop scheduling; give in-flight activities a moment, abandon the rest (they resume next start)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        # Queued activities are dropped (their rows stay and run at the next start); started ones get a grace.
        self._activities.shutdown(wait=False, cancel_futures=True)
        await asyncio.sleep(0)  # let the cancellations reach the asyncio futures
        in_flight = [f for f in self._running.values() if not f.done()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=grace_seconds)
        self._orchestrators.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    async def run_until_idle(self) -> None:
        """Drive everything (jumping a simulated clock over timers) until no work is left."""
        await self._run(stop_when_idle=True)

    async def _run(self, *, stop_when_idle: bool) -> None:
        while not self._stopping:
            self._wake.clear()
            if await self._step():
                continue
            next_due = self.store.next_timer_due()
            if not self._running and next_due is not None and self.clock.simulated:
                self.clock.advance_to(datetime.fromtimestamp(next_due, UTC))
                continue
            if stop_when_idle and not self._running and next_due is None:
                return
            timeout = None if next_due is None else max(0.0, next_due - self.clock.now().timestamp())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout if not self.clock.simulated else None)

    async def _step(self) -> bool:
        progressed = False
        for instance_id in self.store.instances_with_inbox():
            try:
                await self._episode(instance_id)
            except Exception:  # a devhost bug must not stop every other orchestration
                log.exception("episode of %s failed; the instance is marked Failed", instance_id)
                self._fail_instance(instance_id, "devhost internal error while running an episode; see its log")
            progressed = True
        for row in self.store.work("activity"):
            if row.id not in self._running:
                self._dispatch_activity(row)
        now = self.clock.now()
        for row in self.store.due_timers(now.timestamp()):
            with self.store.transaction() as conn:
                if self.store.delete_work(conn, [row.id]):
                    ev = h.timer_fired(now, row.payload["timer_id"], row.payload["fire_at"])
                    self.store.add_work(conn, row.instance_id, row.execution_id, "inbox", ev)
            progressed = True
        return progressed

    # ---- activities --------------------------------------------------------------------------
    def _dispatch_activity(self, row: WorkRow) -> None:
        info = self.index.activity(row.payload["name"])
        loop = asyncio.get_running_loop()
        if info is None:  # checked at scheduling time; kept for rows persisted by another app version
            future: asyncio.Future[Any] = loop.create_future()
            future.set_exception(LookupError(f"The function '{row.payload['name']}' doesn't exist"))
        else:
            future = loop.run_in_executor(self._activities, run_activity, info, row.payload["input"])
        self._running[row.id] = future
        future.add_done_callback(lambda f: self._activity_done(row, f))

    def _activity_done(self, row: WorkRow, future: asyncio.Future[Any]) -> None:
        self._running.pop(row.id, None)
        self.stats["activities"] += 1
        if self._stopping and future.cancelled():
            return
        now, task_id, name = self.clock.now(), row.payload["task_id"], row.payload["name"]
        exc = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if exc is None:
            ev = h.task_completed(now, task_id, future.result())
        else:
            details = "".join(traceback.format_exception(exc)).strip()
            ev = h.task_failed(now, task_id, f"Activity function '{name}' failed: {type(exc).__name__}: {exc}", details)
        try:
            with self.store.transaction() as conn:
                # Deleted rows belong to a terminated or restarted execution: drop their result.
                if self.store.delete_work(conn, [row.id]):
                    self.store.add_work(conn, row.instance_id, row.execution_id, "inbox", ev)
        except Exception:  # the store is closed during shutdown; the row stays and reruns next start
            log.debug("activity result not stored", exc_info=True)
        self._wake.set()

    # ---- client operations -------------------------------------------------------------------
    def start_new(
        self, name: str, instance_id: str | None, input_json: str | None, parent: dict[str, Any] | None = None
    ) -> str:
        info = self.index.orchestrator(name)
        if info is None:
            raise StartError(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: the app's orchestrator functions are: {self._orchestrator_names()}",
                400,
            )
        instance_id = instance_id or uuid.uuid4().hex
        existing = self.store.get(instance_id)
        if existing is not None and existing.status not in TERMINAL and parent is None:
            raise StartError(
                f"An orchestration with instance ID '{instance_id}' already exists and is {existing.status}.", 409
            )
        with self.store.transaction() as conn:
            if existing is not None:
                self.store.delete_instance_work(conn, instance_id)
            self._create(conn, info.durable_name or name, instance_id, input_json, parent)
        self._wake.set()
        return instance_id

    def _orchestrator_names(self) -> str:
        return ", ".join(
            sorted(f.durable_name or f.name for f in self.index.functions if f.trigger_type == "orchestrationTrigger")
        )

    def _create(
        self, conn: Any, name: str, instance_id: str, input_json: str | None, parent: dict[str, Any] | None
    ) -> None:
        now, execution_id = self.clock.now(), uuid.uuid4().hex
        stamp = h.iso_seconds(now)
        inst = Instance(
            instance_id, name, execution_id, "Pending", input_json, None, None, stamp, stamp, parent, [], [], 0
        )
        existing_version = self.store.version(instance_id)
        inst.version = existing_version or 0
        self.store.put(conn, inst)
        parent_ref = None
        if parent:
            parent_ref = {
                "Name": parent.get("name"),
                "OrchestrationInstance": {"InstanceId": parent["instance_id"], "ExecutionId": parent["execution_id"]},
                "TaskScheduleId": parent["task_id"],
            }
        started = h.execution_started(now, name, _context_input(input_json), instance_id, execution_id, parent_ref)
        self.store.add_work(conn, instance_id, execution_id, "inbox", started)

    def raise_event(self, instance_id: str, name: str, data_json: str | None) -> str:
        """'ok', 'missing' or 'gone' (terminal): the HTTP API maps them to 202/404/410."""
        inst = self.store.get(instance_id)
        if inst is None:
            return "missing"
        if inst.status in TERMINAL:
            return "gone"
        with self.store.transaction() as conn:
            self.store.add_work(
                conn, instance_id, inst.execution_id, "inbox", h.event_raised(self.clock.now(), name, data_json)
            )
        self._wake.set()
        return "ok"

    def terminate(self, instance_id: str, reason: str) -> str:
        inst = self.store.get(instance_id)
        if inst is None:
            return "missing"
        if inst.status in TERMINAL:
            return "gone"
        now = self.clock.now()
        with self.store.transaction() as conn:
            inst.history.append({**h.event(h.EXECUTION_TERMINATED, now, Input=reason), "IsPlayed": True})
            self._finish(conn, inst, "Terminated", json.dumps(reason), now)
            self.store.put(conn, inst)
        self._wake.set()
        return "ok"

    def purge(self, instance_id: str) -> int:
        inst = self.store.get(instance_id)
        if inst is None or inst.status not in TERMINAL:
            return 0
        with self.store.transaction() as conn:
            return self.store.delete_instance(conn, instance_id)

    def query(
        self,
        *,
        created_from: str | None = None,
        created_to: str | None = None,
        statuses: list[str] | None = None,
        prefix: str | None = None,
        top: int = 1000,
    ) -> list[Instance]:
        clauses, params = ["1=1"], []
        if created_from:
            clauses.append("created >= ?")
            params.append(h.iso_seconds(h.parse_time(created_from)))
        if created_to:
            clauses.append("created <= ?")
            params.append(h.iso_seconds(h.parse_time(created_to)))
        if statuses:
            clauses.append(f"status IN ({','.join('?' for _ in statuses)})")
            params.extend(statuses)
        if prefix:
            clauses.append("instance_id LIKE ? ESCAPE '\\'")
            params.append(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        return self.store.query(" AND ".join(clauses), tuple(params), top)

    def purge_by(self, **filters: Any) -> int:
        statuses = [s for s in (filters.pop("statuses", None) or TERMINAL) if s in TERMINAL]
        if not statuses:  # only terminal instances are ever purged
            return 0
        victims = self.query(statuses=statuses, **filters)
        with self.store.transaction() as conn:
            return sum(self.store.delete_instance(conn, i.instance_id) for i in victims)

    # ---- episodes ----------------------------------------------------------------------------
    async def _episode(self, instance_id: str) -> None:
        inst = self.store.get(instance_id)
        rows = self.store.work("inbox", instance_id)
        events = [r.payload for r in rows if inst is not None and r.execution_id == inst.execution_id]
        if inst is None or inst.status in TERMINAL or not events:
            with self.store.transaction() as conn:
                self.store.delete_work(conn, [r.id for r in rows])
            return
        version, now = inst.version, self.clock.now()
        past = [{**e, "IsPlayed": True} for e in inst.history]
        new = [h.event(h.ORCHESTRATOR_STARTED, now), *events]
        full = past + new
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        outcome = await loop.run_in_executor(self._orchestrators, self._decide, inst, full)
        self.stats["episodes"] += 1
        self.stats["replay_seconds"] += time.perf_counter() - started
        if self.store.version(instance_id) != version:
            return  # terminated or restarted meanwhile: the inbox rows are handled on the next step
        previous_status = inst.custom_status
        with self.store.transaction() as conn:
            self.store.delete_work(conn, [r.id for r in rows])
            self._commit(conn, inst, full, outcome, now)
        if self.on_progress and inst.custom_status is not None and inst.custom_status != previous_status:
            self.on_progress(inst)

    def _fail_instance(self, instance_id: str, message: str) -> None:
        inst, now = self.store.get(instance_id), self.clock.now()
        with self.store.transaction() as conn:
            self.store.delete_instance_work(conn, instance_id, ("inbox",))
            if inst is not None and inst.status not in TERMINAL:
                self._finish(conn, inst, "Failed", json.dumps(message), now)
                self.store.put(conn, inst)

    def _unchanged_by(self, inst: Instance, full: list[dict[str, Any]]) -> _Outcome | None:
        """The outcome without calling the SDK, when the new events cannot resume the orchestrator.

        The generator only resumes when the task it yielded last (the current top-level action) completes,
        or fails fast in the SDK's task_all. So when no failure or external event arrived and the shim's
        cursor stays on the same unfinished action, the SDK would return the same actions and custom status:
        only the shim's own decisions (retry timers, next attempts) change. Saves most replays of a fan-out.
        """
        new = full[len(inst.history) :]
        if not inst.actions or inst.status != "Running" or not self.skip_needless_replays:
            return None
        if any(e["EventType"] in _RESUMING_EVENTS for e in new):
            return None
        before = replay_actions(inst.instance_id, inst.actions, full[: len(inst.history)])
        after = replay_actions(inst.instance_id, inst.actions, full)
        if after.all_done or after.cursor != before.cursor:
            return None
        custom = json.loads(inst.custom_status) if inst.custom_status else None
        return _Outcome("Running", None, custom, inst.actions, after.decisions)

    def _decide(self, inst: Instance, full: list[dict[str, Any]]) -> _Outcome:
        """Run the registered handle over the history and turn its state into a decision."""
        unchanged = self._unchanged_by(inst, full)
        if unchanged is not None:
            self.stats["replays_skipped"] += 1
            return unchanged
        info = self.index.orchestrator(inst.name)
        if info is None:
            return _Outcome(
                "Failed", f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator function."
            )
        context = {
            "history": full,
            "input": _context_input(inst.input),
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
                return _Outcome("Failed", fail_prefix + f"{type(exc).__name__}: {message}")
            error, _, data = message.partition(_OOP_MARK)
            state = json.loads(data)
            state.setdefault("error", error)
        if "schemaVersion" not in state:
            return _Outcome("Failed", fail_prefix + "replay schema V1 is not supported by devhost")
        actions = state["actions"][0] if state.get("actions") else []
        custom = state.get("customStatus")
        problem = find_nondeterminism(inst.actions, actions)
        try:
            shim = replay_actions(inst.instance_id, actions, full)
        except UnsupportedAction as exc:
            problem = problem or str(exc)
        if problem:
            return _Outcome("Failed", fail_prefix + problem, custom, actions)
        problem = self._check_decisions(full, shim.decisions)
        if problem:
            return _Outcome("Failed", fail_prefix + problem, custom, actions)
        if state.get("error"):
            status = "Failed" if shim.all_done else "Running"
            return _Outcome(status, fail_prefix + state["error"], custom, actions, shim.decisions)
        if state.get("isDone") and shim.all_done:
            if shim.continue_as_new is not None:
                return _Outcome("ContinuedAsNew", None, custom, actions, shim.decisions, shim.continue_as_new)
            return _Outcome("Completed", state.get("output"), custom, actions, shim.decisions)
        return _Outcome("Running", None, custom, actions, shim.decisions)

    def _check_decisions(self, full: list[dict[str, Any]], decisions: list[Decision]) -> str | None:
        scheduled = {e["EventId"]: e for e in full if e["EventType"] in h.SCHEDULING_EVENTS}
        kinds = {"activity": h.TASK_SCHEDULED, "suborch": h.SUB_CREATED, "timer": h.TIMER_CREATED}
        for d in decisions:
            old = scheduled.get(d.event_id)
            if old is not None:
                if old["EventType"] != kinds[d.kind] or (
                    str(old.get("Name")).lower() != str(d.name).lower() and d.kind != "timer"
                ):
                    was, now = old.get("Name") or "a timer", d.name or "a timer"
                    return (
                        f"Non-deterministic workflow detected: event {d.event_id} was {was} and is now {now} on replay."
                    )
            elif d.kind == "activity" and self.index.activity(d.name or "") is None:
                return (
                    f"The function '{d.name}' doesn't exist, is disabled, or is not an activity function. "
                    f"Additional info: no activity named '{d.name}' is registered."
                )
            elif d.kind == "suborch" and self.index.orchestrator(d.name or "") is None:
                return f"The function '{d.name}' doesn't exist, is disabled, or is not an orchestrator function."
        return None

    def _commit(self, conn: Any, inst: Instance, full: list[dict[str, Any]], outcome: _Outcome, now: datetime) -> None:
        scheduled = {e["EventId"] for e in full if e["EventType"] in h.SCHEDULING_EVENTS}
        fresh = [d for d in outcome.decisions or [] if d.event_id not in scheduled]
        inst.history = [{**e, "IsPlayed": True} for e in full] + [
            {**self._decision_event(d, now), "IsPlayed": True} for d in fresh
        ]
        inst.history.append({**h.event(h.ORCHESTRATOR_COMPLETED, now), "IsPlayed": True})
        inst.actions = outcome.actions or inst.actions
        inst.custom_status = _json_or_none(outcome.custom_status)
        inst.updated = h.iso_seconds(now)
        if outcome.status == "ContinuedAsNew":
            assert outcome.continue_as_new is not None
            self.store.delete_instance_work(conn, inst.instance_id)
            self.store.put(conn, inst)
            self._create(
                conn, inst.name, inst.instance_id, _json_or_none(outcome.continue_as_new.get("input")), inst.parent
            )
            return
        if outcome.status in TERMINAL:
            inst.history.append(
                {
                    **h.event(
                        h.EXECUTION_COMPLETED,
                        now,
                        OrchestrationStatus=outcome.status,
                        Result=_json_or_none(outcome.output),
                    ),
                    "IsPlayed": True,
                }
            )
            self._finish(conn, inst, outcome.status, _json_or_none(outcome.output), now)
        else:
            inst.status = "Running"
            for d in fresh:
                self._schedule(conn, inst, d)
        self.store.put(conn, inst)

    def _decision_event(self, d: Decision, now: datetime) -> dict[str, Any]:
        if d.kind == "activity":
            return h.event(h.TASK_SCHEDULED, now, d.event_id, Name=d.name, Version="", Input=d.input)
        if d.kind == "suborch":
            return h.event(h.SUB_CREATED, now, d.event_id, Name=d.name, InstanceId=d.instance_id, Input=d.input)
        return h.event(h.TIMER_CREATED, now, d.event_id, FireAt=d.fire_at)

    def _schedule(self, conn: Any, inst: Instance, d: Decision) -> None:
        if d.kind == "activity":
            self.store.add_work(
                conn,
                inst.instance_id,
                inst.execution_id,
                "activity",
                {"name": d.name, "input": d.input, "task_id": d.event_id},
            )
        elif d.kind == "timer":
            assert d.fire_at is not None
            due = h.parse_time(d.fire_at).timestamp()
            self.store.add_work(
                conn, inst.instance_id, inst.execution_id, "timer", {"timer_id": d.event_id, "fire_at": d.fire_at}, due
            )
        else:
            assert d.instance_id is not None and d.name is not None
            info = self.index.orchestrator(d.name)
            parent = {
                "instance_id": inst.instance_id,
                "execution_id": inst.execution_id,
                "task_id": d.event_id,
                "name": inst.name,
            }
            self.store.delete_instance_work(conn, d.instance_id)
            self._create(
                conn,
                (info.durable_name if info else None) or d.name,
                d.instance_id,
                json.dumps(d.input) if d.input is not None else None,
                parent,
            )

    def _finish(self, conn: Any, inst: Instance, status: str, output_json: str | None, now: datetime) -> None:
        """Terminal state: drop pending work and tell a parent orchestration."""
        inst.status, inst.output, inst.updated = status, output_json, h.iso_seconds(now)
        self.store.delete_instance_work(conn, inst.instance_id, ("activity", "timer"))
        parent = inst.parent
        if parent:
            if status == "Completed":
                ev = h.sub_completed(now, parent["task_id"], output_json)
            else:
                reason = json.loads(output_json) if output_json else status
                ev = h.sub_failed(
                    now, parent["task_id"], f"Sub-orchestration '{inst.instance_id}' {status.lower()}: {reason}", None
                )
            self.store.add_work(conn, parent["instance_id"], parent["execution_id"], "inbox", ev)
        log.info("orchestration %s (%s) %s", inst.instance_id, inst.name, status)
