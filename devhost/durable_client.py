"""The client operations of the Durable extension: start, raise an event, terminate, query, purge."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from devhost import history as h
from devhost import transitions
from devhost.clock import Clock
from devhost.functions import FunctionIndex
from devhost.instance import TERMINAL, Instance
from devhost.store import Store


class StartError(Exception):
    """start_new refused: unknown orchestrator (400) or a running instance with that id (409-ish)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class DurableClient:
    """Writes what a client asks for into the store, then wakes the scheduler (`wake`) to act on it."""

    def __init__(self, index: FunctionIndex, store: Store, clock: Clock, wake: Callable[[], None]) -> None:
        self.index = index
        self.store = store
        self.clock = clock
        self._wake = wake

    def get(self, instance_id: str) -> Instance | None:
        return self.store.get(instance_id)

    def start_new(self, name: str, instance_id: str | None, input_json: str | None) -> str:
        info = self.index.orchestrator(name)
        if info is None:
            raise StartError(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: the app's orchestrator functions are: {self._orchestrator_names()}",
                400,
            )
        instance_id = instance_id or uuid.uuid4().hex
        existing = self.store.get(instance_id)
        if existing is not None and existing.status not in TERMINAL:
            raise StartError(
                f"An orchestration with instance ID '{instance_id}' already exists and is {existing.status}.", 409
            )
        with self.store.transaction() as conn:
            if existing is not None:
                self.store.delete_instance_work(conn, instance_id)
            transitions.create(
                self.store,
                conn,
                self.clock,
                name=info.durable_name or name,
                instance_id=instance_id,
                input_json=input_json,
                parent=None,
            )
        self._wake()
        return instance_id

    def _orchestrator_names(self) -> str:
        return ", ".join(
            sorted(f.durable_name or f.name for f in self.index.functions if f.trigger_type == "orchestrationTrigger")
        )

    def raise_event(self, instance_id: str, name: str, data_json: str | None) -> str:
        """'ok', 'missing' or 'gone' (terminal): the HTTP API maps them to 202/404/410."""
        inst = self.store.get(instance_id)
        if inst is None:
            return "missing"
        if inst.status in TERMINAL:
            return "gone"
        with self.store.transaction() as conn:
            event = h.event_raised(self.clock.now(), name, data_json)
            self.store.add_work(conn, instance_id, inst.execution_id, "inbox", event)
        self._wake()
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
            transitions.finish(self.store, conn, inst, "Terminated", json.dumps(reason), now)
            self.store.put(conn, inst)
        self._wake()
        return "ok"

    def purge(self, instance_id: str) -> int:
        inst = self.store.get(instance_id)
        if inst is None or inst.status not in TERMINAL:
            return 0
        with self.store.transaction() as conn:
            return self.store.delete_instance(conn, instance_id)

    def query(self, **filters: Any) -> list[Instance]:
        """Filters: created_from, created_to (ISO times), statuses, prefix, top, after (see Store.query)."""
        return self.store.query(**filters)

    def purge_by(self, **filters: Any) -> int:
        statuses = [s for s in (filters.pop("statuses", None) or TERMINAL) if s in TERMINAL]
        if not statuses:  # only terminal instances are ever purged
            return 0
        victims = self.store.query(statuses=statuses, **filters)
        with self.store.transaction() as conn:
            return sum(self.store.delete_instance(conn, i.instance_id) for i in victims)
