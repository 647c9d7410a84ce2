"""Durable through the real worker: activities, orchestrator episodes, the timer and the client binding."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from devhost import history as h
from devhost.durable_api import client_binding
from devhost.instance import Instance
from devhost.replay_decider import _CONTEXT_EXTRAS, context_input, decide
from devhost.store import Store
from tests.support.conformance import Pair
from tests.support.e2e_api import REPO

INSTANCE = "materialize-incremental"
# Activities a fault-free run never schedules, with an input such as the orchestrator gives them. A backfill's
# failure leaves the incremental count alone, so both sides return the same.
UNSCHEDULED_INPUTS = {
    "record_materialization_failure": json.dumps(
        {"mode": "backfill", "error": "RuntimeError: conformance", "instance_id": "backfill-conformance"}
    ),
    # The delivery activities of a subscription that does not exist: nothing to take, send or disable.
    "next_webhook_batch": json.dumps({"subscription_id": "no-such-subscription", "batch_size": 10}),
    "send_webhook_batch": json.dumps(
        {"subscription_id": "no-such-subscription", "attempt": 1, "batch": {"webhook_id": "x", "payload": "{}"}}
    ),
    "disable_webhook": json.dumps({"subscription_id": "no-such-subscription", "reason": "conformance"}),
}


def _instance(pair: Pair) -> Instance:
    store = Store(pair.devhost.data_dir / "devhost.sqlite")
    try:
        inst = store.get(INSTANCE)
    finally:
        store.close()
    assert inst is not None and inst.status == "Completed"
    return inst


def _returned(pair: Pair, response: Any) -> Any:
    protos = pair.worker.protos
    assert response.result.status == protos.StatusResult.Success, response.result.exception.message
    value = response.return_value
    kind = value.WhichOneof("data")
    return getattr(value, kind) if kind else None


def test_activities_return_what_devhost_returns(pair: Pair) -> None:
    """Every activity of the app, with the input devhost's run scheduled (the extension's JSON), both ways."""
    scheduled = [e for e in _instance(pair).history if e["EventType"] == h.TASK_SCHEDULED]
    activities = [f for f in pair.index.functions if f.trigger_type == "activityTrigger"]
    protos = pair.worker.protos
    compared = 0
    for info in activities:
        assert info.durable_name is not None
        event = next((e for e in scheduled if e["Name"].lower() == info.durable_name.lower()), None)
        if event is None and info.durable_name in UNSCHEDULED_INPUTS:
            event = {"Input": UNSCHEDULED_INPUTS[info.durable_name]}
        assert event is not None, f"{info.name} was never scheduled by {INSTANCE}"
        binding = client_binding(pair.devhost.base_url, system_key=pair.system_key) if info.client_binding else None
        devhost = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.conformance.devhost_activity",
                info.durable_name,
                *([binding] if binding else []),
            ],
            input=event["Input"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=pair.devhost.env,
            timeout=120,
            check=True,
        ).stdout
        inputs = {info.trigger_name: protos.TypedData(json=event["Input"])}
        if info.client_binding and binding:  # as the host gives any function its durable client binding
            inputs[info.client_binding] = protos.TypedData(string=binding)
        response = pair.worker.invoke(info.name, inputs)
        assert json.loads(_returned(pair, response)) == json.loads(devhost), info.name
        compared += 1
    assert compared == len(activities) >= 3


def _episodes(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The history as each episode saw it: everything before the next OrchestratorStarted."""
    starts = [i for i, e in enumerate(history) if e["EventType"] == h.ORCHESTRATOR_STARTED]
    return [history[:end] for end in [*starts[1:], len(history)]]


def test_orchestrator_episodes_give_devhost_actions(pair: Pair) -> None:
    inst = _instance(pair)
    info = pair.index.orchestrator(inst.name)
    assert info is not None
    protos = pair.worker.protos
    episodes = _episodes(inst.history)
    for past in episodes:
        context = {
            "history": past,
            "input": context_input(inst.input),
            "instanceId": inst.instance_id,
            "isReplaying": False,
            "parentInstanceId": None,
            **_CONTEXT_EXTRAS,
        }  # what devhost's replay hands the SDK, as the extension does
        response = pair.worker.invoke(info.name, {info.trigger_name: protos.TypedData(string=json.dumps(context))})
        state = json.loads(_returned(pair, response))
        fresh = Instance(**{**inst.__dict__, "actions": [], "history": []})
        outcome = decide(fresh, past, pair.index, skip_needless_replays=False)
        assert state["actions"][0] == outcome.actions
        assert state.get("customStatus") == outcome.custom_status
        if outcome.status == "Completed":
            assert state["isDone"] and state.get("output") == outcome.output
    assert len(episodes) >= 3


def test_timer_trigger_runs_through_the_worker_with_the_client_binding(pair: Pair) -> None:
    """The timer fires through the worker; its durable client starts the incremental run on devhost."""
    timer = next(f for f in pair.index.functions if f.trigger_type == "timerTrigger")
    assert timer.client_binding is not None
    protos = pair.worker.protos
    before = pair.devhost.status(INSTANCE)[1]
    timer_info = json.dumps({"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False})
    binding = client_binding(pair.devhost.base_url, system_key=pair.system_key)
    response = pair.worker.invoke(
        timer.name,
        {timer.trigger_name: protos.TypedData(json=timer_info), timer.client_binding: protos.TypedData(string=binding)},
    )
    assert response.result.status == protos.StatusResult.Success, response.result.exception.message
    after = pair.devhost.wait_for(INSTANCE, 120)
    assert after["runtimeStatus"] == "Completed"
    assert before is not None and after["createdTime"] > before["createdTime"]  # a new run, started by the worker
