"""The materialization orchestrator, driven two ways: as a plain generator, and by replay through the
SDK's real Orchestrator handle with a hand-built history (the JSON protocol of the Durable extension)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from orchestrations import materialize as orch
from orchestrations.names import (
    ACTIVITY_COMMIT,
    ACTIVITY_FORECAST,
    ACTIVITY_MATERIALIZE_BATCH,
    ACTIVITY_MATERIALIZE_NATIONAL,
    ACTIVITY_PLAN,
    ACTIVITY_RECORD_FAILURE,
    ACTIVITY_START_WEBHOOKS,
)


def make_plan(n_batches: int, parallelism: int) -> dict[str, Any]:
    batches = [
        {"region_code": "11", "month": f"2024-{m:02d}", "days": [f"2024-{m:02d}-01"]} for m in range(1, n_batches + 1)
    ]
    return {
        "mode": "incremental",
        "previous_watermark": None,
        "watermark": "2025-01-01T00:00:00.000000Z",
        "partitions": n_batches,
        "batches": batches,
        "parallelism": parallelism,
    }


def batch_result(batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "region_code": batch["region_code"],
        "month": batch["month"],
        "days": 1,
        "days_written": 1,
        "days_unchanged": 0,
        "files_written": 2,
        "first_day": batch["days"][0],
        "last_day": batch["days"][0],
    }


# --- 1. the generator, with a recording context --------------------------------------------------------


NOW = "2026-01-01T06:00:00+00:00"  # the plan is dated by the orchestration's clock


class RecordingContext:
    """Stands in for DurableOrchestrationContext: records what the orchestrator asks for."""

    instance_id = "materialize-test"
    current_utc_datetime = datetime(2026, 1, 1, 6, 0)  # naive, as the SDK gives it

    def __init__(self, request: dict[str, Any] | None) -> None:
        self.request = request
        self.statuses: list[Any] = []

    def get_input(self) -> Any:
        return self.request

    def call_activity(self, name: str, payload: Any) -> tuple[str, Any]:
        return ("call", name, payload)  # type: ignore[return-value]

    def call_activity_with_retry(self, name: str, retry: Any, payload: Any) -> tuple[str, Any, Any]:
        return ("retry", name, retry, payload)  # type: ignore[return-value]

    def task_all(self, tasks: list[Any]) -> tuple[str, list[Any]]:
        return ("all", tasks)

    def set_custom_status(self, status: Any) -> None:
        self.statuses.append(status)


@pytest.mark.parametrize(("n_batches", "parallelism", "waves"), [(0, 4, 0), (1, 4, 1), (5, 2, 3), (6, 3, 2)])
def test_generator_fans_out_in_bounded_waves(n_batches: int, parallelism: int, waves: int) -> None:
    ctx = RecordingContext(None)
    gen = orch.materialize_orchestrator._function._func.orchestrator_function(ctx)
    step = next(gen)
    assert step == ("call", ACTIVITY_PLAN, {"mode": "incremental", "instance_id": "materialize-test", "now": NOW})
    plan = make_plan(n_batches, parallelism)
    step = gen.send(plan)
    seen_waves = 0
    while step[0] == "all":
        seen_waves += 1
        wave = step[1]
        assert 1 <= len(wave) <= parallelism
        assert all(t[0] == "retry" and t[1] == ACTIVITY_MATERIALIZE_BATCH and t[2] is orch.BATCH_RETRY for t in wave)
        assert all(t[3]["instance_id"] == "materialize-test" for t in wave)  # for the activities' log lines
        step = gen.send([batch_result(t[3]) for t in wave])
    assert seen_waves == waves
    assert step[0] == "call" and step[1] == ACTIVITY_COMMIT and step[2]["instance_id"] == "materialize-test"
    assert step[2]["plan"]["batches"] == [] and step[2]["plan"]["watermark"] == plan["watermark"]
    assert [r["month"] for r in step[2]["results"]] == [b["month"] for b in plan["batches"]]
    step = gen.send({"summary": True})
    if n_batches:  # after the commit: the forecasts of the areas the run built days for (here region 11)
        assert step[0] == "all" and [(t[1], t[2]["region_code"]) for t in step[1]] == [(ACTIVITY_FORECAST, "11")]
        step = gen.send([{"region_code": "11", "written": True}])
    # then the webhook deliveries of its changes start
    assert step == ("call", ACTIVITY_START_WEBHOOKS, {"instance_id": "materialize-test"})
    with pytest.raises(StopIteration) as stop:
        gen.send({"started": []})
    assert stop.value.value == {"summary": True}
    assert ctx.statuses[-1] == {"stage": "done", "done": n_batches, "total": n_batches, "partitions": n_batches}
    assert [s["done"] for s in ctx.statuses[1:-1]] == sorted(s["done"] for s in ctx.statuses[1:-1])


def test_a_failed_batch_is_set_aside_and_the_others_commit() -> None:
    """task_all fails fast: the orchestrator then awaits each batch of the wave on its own, in order, and a
    failed one becomes a failed result (its region-month is quarantined by the commit) instead of failing."""
    gen = orch.materialize_orchestrator._function._func.orchestrator_function(RecordingContext(None))
    next(gen)
    plan = make_plan(3, 3)
    step = gen.send(plan)
    assert step[0] == "all" and len(step[1]) == 3
    wave = step[1]
    # The SDK throws the first failure into the generator at the task_all...
    step = gen.throw(Exception("Activity function 'materialize_batch' failed: ValueError: could not convert 'n/a'"))
    # ...then each task is yielded on its own: a finished one answers at once, a failed one throws.
    assert step is wave[0]
    step = gen.send(batch_result(wave[0][3]))
    assert step is wave[1]
    step = gen.throw(Exception("Activity function 'materialize_batch' failed: ValueError: could not convert 'n/a'"))
    assert step is wave[2]
    step = gen.send(batch_result(wave[2][3]))
    # France is rebuilt for every month a regional batch attempted, the failed one included (from stored days)
    assert step[0] == "all" and all(t[1] == ACTIVITY_MATERIALIZE_NATIONAL for t in step[1])
    step = gen.send([{"region_code": "FR", "month": t[3]["month"]} for t in step[1]])
    assert step[0] == "call" and step[1] == ACTIVITY_COMMIT
    results = [r for r in step[2]["results"] if r["region_code"] != "FR"]
    assert [r["month"] for r in results] == ["2024-01", "2024-02", "2024-03"]
    assert [r.get("error") is not None for r in results] == [False, True, False]
    failed = results[1]
    assert "ValueError" in failed["error"] and failed["days_written"] == 0
    assert failed["attempted_days"] == ["2024-02-01"] and failed["quarantined"] == []


def test_a_failure_of_the_run_is_recorded_before_the_orchestration_fails() -> None:
    gen = orch.materialize_orchestrator._function._func.orchestrator_function(RecordingContext(None))
    next(gen)
    step = gen.throw(Exception("Activity function 'plan_materialization' failed: OperationalError: locked"))
    assert step[0] == "call" and step[1] == ACTIVITY_RECORD_FAILURE
    assert step[2]["mode"] == "incremental" and "OperationalError" in step[2]["error"]
    assert step[2]["instance_id"] == "materialize-test"
    with pytest.raises(Exception, match="OperationalError: locked"):
        gen.send({"consecutive_failures": 1})


def test_generator_rebuilds_fr_for_the_months_the_regions_touched_before_the_commit() -> None:
    ctx = RecordingContext(None)
    gen = orch.materialize_orchestrator._function._func.orchestrator_function(ctx)
    next(gen)
    plan = make_plan(3, 2)
    step = gen.send(plan)
    while step[1][0][1] == ACTIVITY_MATERIALIZE_BATCH:
        step = gen.send([{**batch_result(t[3]), "attempted_days": t[3]["days"]} for t in step[1]])
    assert step[0] == "all"
    national = [t[3] for t in step[1]]
    assert all(t[1] == ACTIVITY_MATERIALIZE_NATIONAL and t[2] is orch.BATCH_RETRY for t in step[1])
    assert [(b["region_code"], b["month"], b["days"]) for b in national] == [
        ("FR", "2024-01", ["2024-01-01"]),
        ("FR", "2024-02", ["2024-02-01"]),
    ]
    step = gen.send([{"region_code": "FR", "month": b["month"]} for b in national])
    assert step[0] == "all" and [t[3]["month"] for t in step[1]] == ["2024-03"]
    step = gen.send([{"region_code": "FR", "month": "2024-03"}])
    assert step[1] == ACTIVITY_COMMIT
    assert [(r["region_code"], r["month"]) for r in step[2]["results"]][-3:] == [
        ("FR", "2024-01"),
        ("FR", "2024-02"),
        ("FR", "2024-03"),
    ]


def test_generator_passes_backfill_request_to_the_planner() -> None:
    request = {"mode": "backfill", "start_date": "2024-01-01", "end_date": "2024-01-31", "region_codes": ["93"]}
    gen = orch.materialize_orchestrator._function._func.orchestrator_function(RecordingContext(request))
    assert next(gen) == ("call", ACTIVITY_PLAN, {**request, "instance_id": "materialize-test", "now": NOW})


# --- 2. replay through the real handle -------------------------------------------------------------------

T0 = "2024-05-01T10:00:00.0000000Z"


class History:
    """Builds the history JSON the Durable extension sends, one episode at a time."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self.new: list[dict[str, Any]] = [
            self._ev(
                0,
                Name=orch.ORCHESTRATOR,
                Version="",
                Input=json.dumps(request),
                OrchestrationInstance={"InstanceId": "i1", "ExecutionId": "e1"},
                ParentInstance=None,
            )
        ]
        self.request = request

    @staticmethod
    def _ev(event_type: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        return {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": T0, **fields}

    def completed(self, task_id: int, result: Any) -> None:
        self.events.append({**self._ev(4, task_id, Name="x", Version=""), "IsPlayed": True})
        self.new.append(self._ev(5, TaskScheduledId=task_id, Result=json.dumps(result)))

    def failed(self, task_id: int, reason: str) -> None:
        self.events.append({**self._ev(4, task_id, Name="x", Version=""), "IsPlayed": True})
        self.new.append(self._ev(6, TaskScheduledId=task_id, Reason=reason, Details="boom"))

    def episode(self) -> str:
        """Context JSON for the next episode: played events, then OrchestratorStarted + the new events."""
        history = [*self.events, self._ev(12), *self.new]
        self.events = [{**e, "IsPlayed": True} for e in history]
        self.new = []
        return json.dumps(
            {
                "history": history,
                "instanceId": "i1",
                "isReplaying": False,
                "parentInstanceId": None,
                "input": json.dumps(self.request),
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
            }
        )


def run(history: History) -> dict[str, Any]:
    handle = orch.materialize_orchestrator._function._func
    return json.loads(handle(history.episode()))


def flat_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Leaf actions in order (WhenAll/WhenAny are compound; a retry call is wrapped in a 1-child WhenAll)."""

    def leaves(action: dict[str, Any]) -> list[dict[str, Any]]:
        children = action.get("compoundActions")
        return [leaf for child in children for leaf in leaves(child)] if children else [action]

    return [leaf for action in state["actions"][0] for leaf in leaves(action)]


def test_replay_schedules_plan_waves_and_commit_with_sequential_ids() -> None:
    h = History({"mode": "incremental"})
    state = run(h)
    assert [a["functionName"] for a in flat_actions(state)] == [ACTIVITY_PLAN]

    plan = make_plan(3, 2)
    h.completed(0, plan)
    state = run(h)
    acts = flat_actions(state)
    assert [a["functionName"] for a in acts] == [ACTIVITY_PLAN, ACTIVITY_MATERIALIZE_BATCH, ACTIVITY_MATERIALIZE_BATCH]
    assert acts[1]["actionType"] == 1 and acts[1]["retryOptions"]["maxNumberOfAttempts"] == 3
    assert state["customStatus"] == {"stage": "materializing", "done": 0, "total": 3, "partitions": 3}

    h.completed(1, batch_result(plan["batches"][0]))
    h.completed(2, batch_result(plan["batches"][1]))
    state = run(h)
    assert [a["functionName"] for a in flat_actions(state)][-1] == ACTIVITY_MATERIALIZE_BATCH
    assert len(flat_actions(state)) == 4 and state["customStatus"]["done"] == 2

    h.completed(3, batch_result(plan["batches"][2]))
    state = run(h)
    commit = flat_actions(state)[-1]
    assert commit["functionName"] == ACTIVITY_COMMIT
    assert [r["month"] for r in json.loads(commit["input"])["results"]] == ["2024-01", "2024-02", "2024-03"]

    h.completed(4, {"days_written": 3})
    state = run(h)
    forecast = flat_actions(state)[-1]
    assert forecast["functionName"] == ACTIVITY_FORECAST and json.loads(forecast["input"])["region_code"] == "11"
    h.completed(5, {"region_code": "11", "written": True})
    state = run(h)
    assert flat_actions(state)[-1]["functionName"] == ACTIVITY_START_WEBHOOKS

    h.completed(6, {"started": ["wh_1"]})
    state = run(h)
    assert state["isDone"] is True and state["output"] == {"days_written": 3}


def test_webhooks_that_cannot_start_never_fail_the_committed_run() -> None:
    gen = orch.materialize_orchestrator._function._func.orchestrator_function(RecordingContext(None))
    next(gen)
    step = gen.send(make_plan(0, 1))
    assert step[1] == ACTIVITY_COMMIT
    assert gen.send({"summary": True})[1] == ACTIVITY_START_WEBHOOKS
    with pytest.raises(StopIteration) as stop:
        gen.throw(Exception("Activity function 'start_webhook_deliveries' failed: store unavailable"))
    assert stop.value.value == {"summary": True}


def test_replay_failure_of_the_planner_is_recorded_then_fails_the_orchestration() -> None:
    h = History({"mode": "incremental"})
    run(h)
    h.failed(0, "Activity function 'plan_materialization' failed: OperationalError: database is locked")
    state = run(h)
    record = flat_actions(state)[-1]
    assert record["functionName"] == ACTIVITY_RECORD_FAILURE
    assert "database is locked" in json.loads(record["input"])["error"]
    h.completed(1, {"consecutive_failures": 1})
    handle = orch.materialize_orchestrator._function._func
    with pytest.raises(Exception, match=r"\$OutOfProcData\$") as err:
        handle(h.episode())
    state = json.loads(str(err.value).split("\n\n$OutOfProcData$:", 1)[1])
    assert "database is locked" in state["error"]
