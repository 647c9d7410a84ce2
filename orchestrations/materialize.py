"""Timer trigger + the materialization orchestrator (deterministic: no I/O, no clock but the context's)."""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import UTC
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from domain.national_plan import forecast_areas, national_batches
from domain.planning import Batch, chunks
from domain.quarantine import failed_batch_result
from orchestrations.names import (
    ACTIVITY_COMMIT,
    ACTIVITY_FORECAST,
    ACTIVITY_MATERIALIZE_BATCH,
    ACTIVITY_MATERIALIZE_NATIONAL,
    ACTIVITY_PLAN,
    ACTIVITY_RECORD_FAILURE,
    ACTIVITY_START_WEBHOOKS,
    INCREMENTAL_INSTANCE_ID,
    ORCHESTRATOR,
)

bp = df.Blueprint()
log = logging.getLogger(__name__)

# A failed batch is retried 3 times 5 s apart; then its region-month is set aside (quarantined with its
# error) and the run goes on: the others materialize and the watermark advances.
BATCH_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
ACTIVE_STATUSES = {df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending}


async def start_incremental(client: df.DurableOrchestrationClient) -> str | None:
    """Start the singleton incremental run unless one is already running; returns the id when started."""
    status = await client.get_status(INCREMENTAL_INSTANCE_ID)
    if status and status.runtime_status in ACTIVE_STATUSES:
        log.info("materialization already running (%s), not starting another", INCREMENTAL_INSTANCE_ID)
        return None
    return await client.start_new(ORCHESTRATOR, INCREMENTAL_INSTANCE_ID, {"mode": "incremental"})


@bp.timer_trigger(arg_name="timer", schedule="%MATERIALIZE_SCHEDULE%", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def materialize_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await start_incremental(client)


def _progress(stage: str, done: int, total: int, partitions: int) -> dict[str, Any]:
    return {"stage": stage, "done": done, "total": total, "partitions": partitions}


def _wave(
    context: df.DurableOrchestrationContext, wave: list[Batch], instance: dict[str, Any]
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """The results of one wave of batches, a failed batch giving a failed result instead of failing the run.

    task_all fails fast on the first failed task; each task is then awaited on its own, in wave order (a
    finished task answers at once, replayed from history: deterministic)."""
    tasks = [context.call_activity_with_retry(ACTIVITY_MATERIALIZE_BATCH, BATCH_RETRY, {**b, **instance}) for b in wave]
    try:
        done: list[dict[str, Any]] = yield context.task_all(tasks)
        return done
    except Exception:  # any batch failed: each is awaited on its own below
        results: list[dict[str, Any]] = []
        for batch, task in zip(wave, tasks, strict=True):
            try:
                results.append((yield task))
            except Exception as exc:  # whatever failed: that region-month is set aside
                results.append(failed_batch_result(batch, str(exc)))
        return results


@bp.orchestration_trigger(context_name="context")
def materialize_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    request = context.get_input() or {"mode": "incremental"}
    # The instance id travels with each activity input so that the activities' log lines carry it.
    instance = {"instance_id": context.instance_id}
    try:
        return (yield from _run(context, request, instance))
    except Exception as exc:
        # Recorded (health turns degraded after two in a row), then the run still fails as it did.
        failure = {"mode": request.get("mode", "incremental"), "error": str(exc)[:2000], **instance}
        yield context.call_activity(ACTIVITY_RECORD_FAILURE, failure)
        raise


def _run(
    context: df.DurableOrchestrationContext, request: dict[str, Any], instance: dict[str, Any]
) -> Generator[Any, Any, dict[str, Any]]:
    # The plan's clock is the orchestration's (back-offs are counted from it): the activity's output depends only on
    # its input and the stores, as a replay expects.
    planned_at = context.current_utc_datetime.replace(tzinfo=UTC).isoformat(timespec="seconds")
    plan = yield context.call_activity(ACTIVITY_PLAN, {**request, **instance, "now": planned_at})
    batches, partitions = plan["batches"], plan["partitions"]
    context.set_custom_status(_progress("materializing", 0, len(batches), partitions))

    results: list[dict[str, Any]] = []
    for wave in chunks(batches, plan["parallelism"]):
        results.extend((yield from _wave(context, wave, instance)))
        context.set_custom_status(_progress("materializing", len(results), len(batches), partitions))

    # France (FR): rebuilt from the regions' stored days of every month this run touched, before the commit.
    national: list[dict[str, Any]] = []
    for wave in chunks(national_batches(results), plan["parallelism"]):
        tasks = [
            context.call_activity_with_retry(ACTIVITY_MATERIALIZE_NATIONAL, BATCH_RETRY, {**b, **instance})
            for b in wave
        ]
        national.extend((yield context.task_all(tasks)))

    summary = yield context.call_activity(
        ACTIVITY_COMMIT, {"plan": {**plan, "batches": []}, "results": results + national, **instance}
    )
    # Forecasts of the areas this run touched, from their stored days: after the commit, never blocking it.
    areas = [{"region_code": code, **instance} for code in forecast_areas(results + national)]
    for start in range(0, len(areas), plan["parallelism"]):
        yield context.task_all(
            [context.call_activity(ACTIVITY_FORECAST, a) for a in areas[start : start + plan["parallelism"]]]
        )
    context.set_custom_status(_progress("done", len(results), len(batches), partitions))
    try:  # webhook deliveries of what this run committed (a failure here never fails the run: the sweep retries)
        yield context.call_activity(ACTIVITY_START_WEBHOOKS, instance)
    except Exception as exc:
        log.warning("webhook deliveries not started by %s: %s", context.instance_id, exc)
    return summary
