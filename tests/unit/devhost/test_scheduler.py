"""Scheduler scenarios through the SDK's real replay, with a simulated clock (no real waiting on timers)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost import history as h
from devhost.engine import DurableEngine
from tests.fixtures.devhost_apps import scenarios

Engine = Callable[..., DurableEngine]


async def run(engine: DurableEngine, name: str, value: Any = None, instance_id: str | None = None) -> tuple[str, Any]:
    iid = engine.client.start_new(name, instance_id, None if value is None else json.dumps(value))
    await engine.run_until_idle()
    inst = engine.store.get(iid)
    assert inst is not None
    return inst.status, json.loads(inst.output) if inst.output else None


async def test_sequential_activities_keep_their_order(make_engine: Engine) -> None:
    assert await run(make_engine(), "sequence") == ("Completed", [2, 4, 8])


async def test_fan_out_of_200_activities_batches_completions(make_engine: Engine) -> None:
    engine = make_engine()
    status, output = await run(engine, "fan_out", 200, "fan")
    assert (status, output) == ("Completed", sum(2 * i for i in range(200)))
    inst = engine.store.get("fan")
    assert inst is not None
    episodes = sum(1 for e in inst.history if e["EventType"] == h.ORCHESTRATOR_STARTED)
    assert episodes < 100  # batched: far fewer replays than completions
    assert json.loads(inst.custom_status or "null") == {"stage": "done"}


@pytest.mark.parametrize(("attempts", "expected"), [(3, "Completed"), (2, "Failed")])
async def test_retries_with_a_timer_after_each_failure(make_engine: Engine, attempts: int, expected: str) -> None:
    engine = make_engine()
    status, output = await run(engine, "with_retry", attempts, f"retry-{attempts}")
    assert status == expected
    inst = engine.store.get(f"retry-{attempts}")
    assert inst is not None
    timers = [e for e in inst.history if e["EventType"] == h.TIMER_CREATED]
    failures = [e for e in inst.history if e["EventType"] == h.TASK_FAILED]
    if expected == "Completed":
        assert output["value"] == f"ok:retry-{attempts}" and len(failures) == 2 and len(timers) == 2
        assert output["at"].startswith("2024-05-01T12:02:00")  # two 60 s retry timers on the simulated clock
    else:
        assert len(failures) == 2 and len(timers) == 2  # a timer after the last attempt too
        assert "Activity function 'flaky' failed: RuntimeError: transient failure" in output


async def test_task_all_failure_is_reported_only_after_siblings_finish(make_engine: Engine) -> None:
    engine = make_engine()
    before = scenarios.CALLS.get("slow", 0)
    status, output = await run(engine, "fail_after_siblings", None, "siblings")
    assert status == "Failed" and "bad input x" in output
    assert scenarios.CALLS["slow"] == before + 1
    inst = engine.store.get("siblings")
    assert inst is not None
    kinds = [e["EventType"] for e in inst.history]
    assert kinds.index(h.TASK_COMPLETED) < kinds.index(h.EXECUTION_COMPLETED)


async def test_running_while_a_sibling_is_still_busy(make_engine: Engine) -> None:
    engine = make_engine()
    engine.start()
    iid = engine.client.start_new("fail_after_siblings", "busy", None)
    seen: list[str] = []
    for _ in range(1000):
        inst = engine.store.get(iid)
        assert inst is not None
        seen.append(inst.status)
        if inst.status == "Failed":
            break
        await asyncio.sleep(0.01)
    assert "Running" in seen and seen[-1] == "Failed"


async def test_timers_use_the_simulated_clock(make_engine: Engine) -> None:
    # 10 days of timers complete at all only on the simulated clock (pytest's timeout ends a real wait).
    status, elapsed = await run(make_engine(), "timers")
    assert status == "Completed" and elapsed == pytest.approx(2 * 3600 + 10 * 86400, abs=1)


async def test_sub_orchestration_and_continue_as_new(make_engine: Engine) -> None:
    engine = make_engine()
    assert await run(engine, "parent", None, "p") == ("Completed", {"child": [2, 4, 8], "counted": 3})
    child = engine.store.get("p-counter")
    assert child is not None and child.status == "Completed" and json.loads(child.input or "null") == "3"


async def test_external_event_wins_over_the_timeout(make_engine: Engine) -> None:
    engine = make_engine()
    iid = engine.client.start_new("approval", "appr", None)
    await engine.scheduler.step()
    assert engine.client.raise_event(iid, "Approve", json.dumps(json.dumps({"by": "bob"}))) == "ok"
    await engine.run_until_idle()
    inst = engine.store.get(iid)
    assert inst is not None and inst.status == "Completed"
    assert json.loads(inst.output or "null") == {"approved": True, "payload": '{"by": "bob"}'}  # issue #295


async def test_timeout_wins_without_an_event(make_engine: Engine) -> None:
    assert await run(make_engine(), "approval") == ("Completed", {"approved": False})


@pytest.mark.parametrize(
    ("orchestrator", "message"),
    [
        ("nondeterministic", "Non-deterministic workflow detected"),
        ("unknown_activity", "The function 'no_such_activity' doesn't exist"),
    ],
)
async def test_broken_orchestrations_fail_with_a_clear_message(
    make_engine: Engine, orchestrator: str, message: str
) -> None:
    status, output = await run(make_engine(), orchestrator)
    assert status == "Failed" and message in output


async def test_resume_from_the_database_after_a_restart(make_engine: Engine) -> None:
    first = make_engine("shared.sqlite")
    iid = first.client.start_new("sequence", "resume", None)
    await first.scheduler.step()  # first episode committed: activity row pending, nothing run to completion
    await first.stop(grace_seconds=0)
    second = make_engine("shared.sqlite")
    await second.run_until_idle()
    inst = second.store.get(iid)
    assert inst is not None and (inst.status, json.loads(inst.output or "null")) == ("Completed", [2, 4, 8])


def _scheduled(engine: DurableEngine, instance_id: str) -> set[tuple[int, Any]]:
    inst = engine.store.get(instance_id)
    assert inst is not None
    return {(e["EventId"], e.get("Name")) for e in inst.history if e["EventType"] in h.SCHEDULING_EVENTS}


@pytest.mark.parametrize(
    ("orchestrator", "value"),
    [
        ("fan_out", 40),
        ("with_retry", 3),
        ("with_retry", 2),
        ("fail_after_siblings", None),
        ("parent", None),
        ("approval", None),
    ],
)
async def test_skipping_needless_replays_changes_nothing_but_their_number(
    make_engine: Engine, orchestrator: str, value: Any
) -> None:
    outcomes = []
    for skip in (False, True):
        engine = make_engine(f"skip-{skip}.sqlite")
        engine.scheduler.skip_needless_replays = skip
        instance_id = f"{orchestrator}-{value}-{skip}"
        status, output = await run(engine, orchestrator, value, instance_id)
        # The instance id appears in outputs (flaky's key) and the traceback differs: keep the message.
        text = json.dumps(output).replace(instance_id, "ID").split(" \\n ")[0]
        outcomes.append((status, text, _scheduled(engine, instance_id), engine.scheduler.stats["replays_skipped"]))
    (plain_status, plain_text, plain_ids, none_skipped), (status, text, ids, _) = outcomes
    assert none_skipped == 0
    assert (status, text, ids) == (plain_status, plain_text, plain_ids)


async def wait_for(predicate: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {what}")


async def test_scheduler_store_error_backs_off_reports_and_recovers(make_engine: Engine, tmp_path: Path) -> None:
    """Another connection holds the history database's write lock: the scheduler's commits fail with
    SQLite's own "database is locked". It backs off and says so, fails no orchestration, and resumes when the
    lock goes (before, the loop task died and the host went on serving as if healthy)."""
    engine = make_engine()
    engine.store.conn.execute("PRAGMA busy_timeout=50")  # fail in 50 ms rather than sqlite3's 5 s
    engine.scheduler.backoff_initial_seconds, engine.scheduler.backoff_max_seconds = 0.05, 0.2
    iid = engine.client.start_new("sequence", "locked-out", None)
    holder = sqlite3.connect(tmp_path / "devhost.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        engine.start()
        status = engine.scheduler.status
        await wait_for(lambda: status.consecutive_failures >= 3, "backed off three times")
        assert status.state == "backing-off" and not status.healthy
        assert status.last_error == "OperationalError: database is locked" and status.next_attempt_at
        inst = engine.store.get(iid)
        assert inst is not None and inst.status not in ("Failed", "Completed")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await wait_for(lambda: (i := engine.store.get(iid)) is not None and i.status == "Completed", "completed")
    assert status.state == "running" and status.healthy and status.consecutive_failures == 0
    assert status.next_attempt_at is None and status.last_error_at is not None  # the last error is kept
    await engine.stop(grace_seconds=1)
    assert status.state == "stopped"


async def test_scheduler_store_error_in_run_until_idle_is_raised(make_engine: Engine, tmp_path: Path) -> None:
    """A caller driving the run to its end (tests, one-shot runs) gets the store's error, not a silent retry."""
    engine = make_engine()
    engine.store.conn.execute("PRAGMA busy_timeout=50")
    engine.client.start_new("sequence", "locked-once", None)
    holder = sqlite3.connect(tmp_path / "devhost.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await engine.run_until_idle()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    inst = engine.store.get("locked-once")
    assert inst is not None and inst.status != "Failed"  # the store failed, not the orchestration
