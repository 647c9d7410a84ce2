"""Client operations (start rules, raise, terminate, purge) on an engine over the scenario app."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from devhost.durable_client import StartError
from devhost.engine import DurableEngine

Engine = Callable[..., DurableEngine]


async def test_terminate_drops_pending_work_and_purge_removes_it(make_engine: Engine) -> None:
    engine = make_engine()
    client = engine.client
    iid = client.start_new("timers", "t", None)
    await engine.scheduler.step()
    assert client.terminate(iid, "stop") == "ok"
    assert client.terminate(iid, "again") == "gone"
    await engine.run_until_idle()
    inst = client.get(iid)
    assert inst is not None and inst.status == "Terminated" and json.loads(inst.output or "null") == "stop"
    assert engine.store.work("timer") == []
    assert client.purge(iid) == 1 and client.get(iid) is None and client.purge(iid) == 0
    assert client.terminate("missing", "x") == "missing"


async def test_start_rules(make_engine: Engine) -> None:
    engine = make_engine()
    client = engine.client
    with pytest.raises(StartError) as unknown:
        client.start_new("not_an_orchestrator", None, None)
    assert unknown.value.status == 400
    client.start_new("timers", "dup", None)
    with pytest.raises(StartError) as running:
        client.start_new("timers", "dup", None)
    assert running.value.status == 409
    await engine.run_until_idle()
    client.start_new("sequence", "dup", None)  # a terminal instance is replaced
    await engine.run_until_idle()
    inst = client.get("dup")
    assert inst is not None and inst.name == "sequence" and inst.status == "Completed"


async def test_raise_event_answers_by_instance_state(make_engine: Engine) -> None:
    engine = make_engine()
    client = engine.client
    assert client.raise_event("missing", "Approve", None) == "missing"
    iid = client.start_new("approval", "ev", None)
    assert client.raise_event(iid, "Approve", "1") == "ok"
    await engine.run_until_idle()
    inst = client.get(iid)
    assert inst is not None and json.loads(inst.output or "null") == {"approved": True, "payload": 1}
    assert client.raise_event(iid, "Approve", "1") == "gone"


async def test_purge_by_removes_only_terminal_instances(make_engine: Engine) -> None:
    engine = make_engine()
    client = engine.client
    client.start_new("sequence", "done", None)
    await engine.run_until_idle()
    client.start_new("timers", "waiting", None)
    await engine.scheduler.step()
    assert client.purge_by(created_from="2000-01-01T00:00:00Z", statuses=["Running"]) == 0
    assert client.purge_by(created_from="2000-01-01T00:00:00Z") == 1
    assert client.get("done") is None and client.get("waiting") is not None
