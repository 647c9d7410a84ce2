"""Timer trigger + the materialization orchestrator (deterministic: no I/O, no clock but the context's)."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from domain.national_plan import forecast_areas, national_batches
from domain.planning import chunks
from orchestrations.names import (
    ACTIVITY_COMMIT,
    ACTIVITY_FORECAST,
    ACTIVITY_MATERIALIZE_BATCH,
    ACTIVITY_MATERIALIZE_NATIONAL,
    ACTIVITY_PLAN,
    INCREMENTAL_INSTANCE_ID,
    ORCHESTRATOR,
)

bp = df.Blueprint()
log = logging.getLogger(__name__)

# A failed batch is retried 3 times 5 s apart before the orchestration fails; the watermark then stays
# where it was, so the next run plans the same days again (unchanged ones are skipped by content hash).
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


@bp.orchestration_trigger(context_name="context")
def materialize_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    request = context.get_input() or {"mode": "incremental"}
    # The instance id travels with each activity input so that the activities' log lines carry it.
    instance = {"instance_id": context.instance_id}
    plan = yield context.call_activity(ACTIVITY_PLAN, {**request, **instance})
    batches, partitions = plan["batches"], plan["partitions"]
    context.set_custom_status(_progress("materializing", 0, len(batches), partitions))

    results: list[dict[str, Any]] = []
    for wave in chunks(batches, plan["parallelism"]):
        tasks = [
            context.call_activity_with_retry(ACTIVITY_MATERIALIZE_BATCH, BATCH_RETRY, {**b, **instance}) for b in wave
        ]
        results.extend((yield context.task_all(tasks)))
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
    return summary
