"""Instance state changes, each written inside the caller's store transaction.

Creating an execution, finishing one (and telling its parent), and applying an episode's outcome: the
history it appends, the work rows its decisions schedule. Shared by the client operations and the scheduler.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from datetime import datetime
from typing import Any

from devhost import history as h
from devhost.clock import Clock
from devhost.instance import TERMINAL, Instance
from devhost.replay_decider import FunctionLookup, Outcome, context_input
from devhost.shim import Decision
from devhost.store import Store

log = logging.getLogger("devhost.engine")


def json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def create(
    store: Store,
    conn: sqlite3.Connection,
    clock: Clock,
    *,
    name: str,
    instance_id: str,
    input_json: str | None,
    parent: dict[str, Any] | None,
) -> None:
    """A new execution (Pending) whose ExecutionStarted event waits in the inbox; replaces one with that id."""
    now, execution_id = clock.now(), uuid.uuid4().hex
    stamp = h.iso_seconds(now)
    inst = Instance(
        instance_id=instance_id,
        name=name,
        execution_id=execution_id,
        status="Pending",
        input=input_json,
        created=stamp,
        updated=stamp,
        parent=parent,
        version=store.version(instance_id) or 0,
    )
    store.put(conn, inst)
    parent_ref = None
    if parent:
        parent_ref = {
            "Name": parent.get("name"),
            "OrchestrationInstance": {"InstanceId": parent["instance_id"], "ExecutionId": parent["execution_id"]},
            "TaskScheduleId": parent["task_id"],
        }
    started = h.execution_started(now, name, context_input(input_json), instance_id, execution_id, parent_ref)
    store.add_work(conn, instance_id, execution_id, "inbox", started)


def finish(
    store: Store, conn: sqlite3.Connection, inst: Instance, status: str, output_json: str | None, now: datetime
) -> None:
    """Terminal state: drop pending work and tell a parent orchestration (the caller puts `inst`)."""
    inst.status, inst.output, inst.updated = status, output_json, h.iso_seconds(now)
    store.delete_instance_work(conn, inst.instance_id, ("activity", "timer"))
    parent = inst.parent
    if parent:
        if status == "Completed":
            ev = h.sub_completed(now, parent["task_id"], output_json)
        else:
            reason = json.loads(output_json) if output_json else status
            ev = h.sub_failed(
                now, parent["task_id"], f"Sub-orchestration '{inst.instance_id}' {status.lower()}: {reason}", None
            )
        store.add_work(conn, parent["instance_id"], parent["execution_id"], "inbox", ev)
    log.info("orchestration %s (%s) %s", inst.instance_id, inst.name, status)


def apply_outcome(
    store: Store,
    conn: sqlite3.Connection,
    functions: FunctionLookup,
    clock: Clock,
    inst: Instance,
    full: list[dict[str, Any]],
    outcome: Outcome,
    now: datetime,
) -> None:
    """Append the episode to the history, then schedule its new decisions or finish / continue as new."""
    scheduled = {e["EventId"] for e in full if e["EventType"] in h.SCHEDULING_EVENTS}
    fresh = [d for d in outcome.decisions or [] if d.event_id not in scheduled]
    inst.history = [h.played(e) for e in full] + [{**decision_event(d, now), "IsPlayed": True} for d in fresh]
    inst.history.append({**h.event(h.ORCHESTRATOR_COMPLETED, now), "IsPlayed": True})
    inst.actions = outcome.actions or inst.actions
    inst.custom_status = json_or_none(outcome.custom_status)
    inst.updated = h.iso_seconds(now)
    if outcome.status == "ContinuedAsNew":
        assert outcome.continue_as_new is not None
        store.delete_instance_work(conn, inst.instance_id)
        store.put(conn, inst)
        create(
            store,
            conn,
            clock,
            name=inst.name,
            instance_id=inst.instance_id,
            input_json=json_or_none(outcome.continue_as_new.get("input")),
            parent=inst.parent,
        )
        return
    if outcome.status in TERMINAL:
        result = json_or_none(outcome.output)
        completed = h.event(h.EXECUTION_COMPLETED, now, OrchestrationStatus=outcome.status, Result=result)
        inst.history.append({**completed, "IsPlayed": True})
        finish(store, conn, inst, outcome.status, result, now)
    else:
        inst.status = "Running"
        for d in fresh:
            _schedule(store, conn, functions, clock, inst, d)
    store.put(conn, inst)


def decision_event(d: Decision, now: datetime) -> dict[str, Any]:
    if d.kind == "activity":
        return h.event(h.TASK_SCHEDULED, now, d.event_id, Name=d.name, Version="", Input=d.input)
    if d.kind == "suborch":
        return h.event(h.SUB_CREATED, now, d.event_id, Name=d.name, InstanceId=d.instance_id, Input=d.input)
    return h.event(h.TIMER_CREATED, now, d.event_id, FireAt=d.fire_at)


def _schedule(
    store: Store, conn: sqlite3.Connection, functions: FunctionLookup, clock: Clock, inst: Instance, d: Decision
) -> None:
    if d.kind == "activity":
        payload = {"name": d.name, "input": d.input, "task_id": d.event_id}
        store.add_work(conn, inst.instance_id, inst.execution_id, "activity", payload)
    elif d.kind == "timer":
        assert d.fire_at is not None
        due = h.parse_time(d.fire_at).timestamp()
        payload = {"timer_id": d.event_id, "fire_at": d.fire_at}
        store.add_work(conn, inst.instance_id, inst.execution_id, "timer", payload, due)
    else:
        assert d.instance_id is not None and d.name is not None
        info = functions.orchestrator(d.name)
        parent = {
            "instance_id": inst.instance_id,
            "execution_id": inst.execution_id,
            "task_id": d.event_id,
            "name": inst.name,
        }
        store.delete_instance_work(conn, d.instance_id)
        create(
            store,
            conn,
            clock,
            name=(info.durable_name if info else None) or d.name,
            instance_id=d.instance_id,
            input_json=json.dumps(d.input) if d.input is not None else None,
            parent=parent,
        )
