"""Activity triggers of the materialization: thin wrappers over domain.materialization with the worker's stores."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from core.settings import get_settings
from core.telemetry import log_context
from domain.quarantine import RetryPolicy
from stores.factory import get_stores

bp = df.Blueprint()

# Activity inputs are annotated with plain `dict`: the Python worker rejects a subscripted generic
# (`dict[str, Any]`) as a binding annotation and then loads no function of the app at all.
# domain.materialization (pandas, numpy: ~100 MiB) is imported by the first activity, not at indexing: every
# process that loads the app indexes these triggers, and the HTTP triggers' processes never run them.
log = logging.getLogger(__name__)


@bp.activity_trigger(input_name="request")
def plan_materialization(request: dict) -> dict[str, Any]:
    with log_context(instance_id=request.get("instance_id")):
        from domain import materialization

        stores, settings = get_stores(), get_settings()
        plan = materialization.plan(
            stores.gold,
            stores.documents,
            request,
            settings.MATERIALIZE_BATCH_SIZE,
            now=request.get("now"),  # the orchestration's clock; absent from a caller without one
            overlap_seconds=settings.MATERIALIZE_WATERMARK_OVERLAP_SECONDS,
        )
        log.info("planned %s partitions in %s batches (%s)", plan["partitions"], len(plan["batches"]), plan["mode"])
        if plan.get("held_back"):
            log.info("quarantined region-months waiting for their back-off: %s", plan.get("held_back"))
        return dict(plan)


@bp.activity_trigger(input_name="batch")
def materialize_batch(batch: dict) -> dict[str, Any]:
    with log_context(instance_id=batch.get("instance_id")):
        from domain import materialization

        stores = get_stores()
        result = materialization.materialize_batch(stores.gold, stores.documents, stores.files, batch)  # type: ignore[arg-type]
        log.debug("materialized %s %s: %s days written", result["region_code"], result["month"], result["days_written"])
        return dict(result)


@bp.activity_trigger(input_name="batch")
def materialize_national(batch: dict) -> dict[str, Any]:
    """One FR month from the regions' stored days (domain.national_materialization)."""
    with log_context(instance_id=batch.get("instance_id")):
        from domain import national_materialization

        stores = get_stores()
        result = national_materialization.materialize_national(stores.documents, stores.files, batch)  # type: ignore[arg-type]
        log.debug("materialized FR %s: %s days written", result["month"], result["days_written"])
        return dict(result)


@bp.activity_trigger(input_name="area")
def materialize_forecast(area: dict) -> dict[str, Any]:
    """One area's 48 h forecast from its stored days (domain.forecast_materialization), after the commit. A
    failure is logged and reported, not raised: the commit is done, and the previous forecast stays served."""
    with log_context(instance_id=area.get("instance_id")):
        from domain import forecast_materialization

        issued_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            result = forecast_materialization.materialize_forecast(
                get_stores().documents, area["region_code"], issued_at
            )
        except Exception as exc:
            log.exception("forecast of %s failed", area.get("region_code"))
            return {"region_code": area.get("region_code"), "written": False, "reason": type(exc).__name__}
        log.debug("forecast %s: %s", area["region_code"], result)
        return result


@bp.activity_trigger(input_name="payload")
def commit_materialization(payload: dict) -> dict[str, Any]:
    with log_context(instance_id=payload.get("instance_id")):
        from domain import materialization
        from domain.intensity_now import write_intensity_now

        settings = get_settings()
        documents, now = get_stores().documents, datetime.now(UTC).isoformat(timespec="seconds")
        summary = materialization.commit(
            documents,
            payload["plan"],
            payload["results"],
            now=now,
            instance_id=payload.get("instance_id"),
            policy=RetryPolicy(
                base_seconds=settings.MATERIALIZE_RETRY_BASE_SECONDS,
                max_seconds=settings.MATERIALIZE_RETRY_MAX_SECONDS,
                set_aside_after=settings.MATERIALIZE_SET_ASIDE_AFTER_FAILURES,
            ),
        )
        # After the catalog: GET /v1/intensity/now reads this one document, rewritten at every commit.
        write_intensity_now(documents, datetime.now(UTC).isoformat(timespec="microseconds"))
        quarantine = summary["quarantine"]
        if quarantine["days"]:
            log.warning(
                "%s region-days quarantined (unknown regions %s, unknown sources %s, failed batches %s)",
                quarantine["days"],
                quarantine["unknown_regions"],
                quarantine["unknown_sources"],
                [f"{f['region_code']}:{f['month']}" for f in quarantine["failed"]],
            )
        log.info("materialization committed: %s", summary)
        return summary


@bp.activity_trigger(input_name="failure")
def record_materialization_failure(failure: dict) -> dict[str, Any]:
    """Called by the orchestrator before it fails: the run's outcome, for health (two in a row: degraded)."""
    with log_context(instance_id=failure.get("instance_id")):
        from domain import materialization

        stored = materialization.record_run(
            get_stores().documents,
            str(failure.get("mode", "incremental")),
            failed_error=str(failure.get("error") or "unknown error"),
            now=datetime.now(UTC).isoformat(timespec="seconds"),
            instance_id=failure.get("instance_id"),
        )
        failures = (stored or {}).get("consecutive_failures", 0)
        log.error("materialization run failed (%s in a row): %s", failures, failure.get("error"))
        return {"consecutive_failures": failures}
