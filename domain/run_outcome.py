"""The `runs` document: how the last materialization runs ended, in one small record health reads by point read.

Written by the commit of every run (completed) and by the record-failure activity the orchestrator calls
before it fails (failed). `consecutive_failures` counts incremental runs that failed in a row (a backfill's
outcome does not reset or raise it); the quarantine figures are those the writer saw after its own writes.
Only what a public reader may see goes in: region-month keys and exception class names, no messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.quarantine import error_type

RUNS_DOC_ID = "runs"
MAX_LISTED = 20  # region-month keys named in the record (the count covers the rest)
MAX_RECORD_BYTES = 4096  # 20 keys, exception class names and timestamps (tests/unit/domain/test_document_bounds.py)


def updated_runs(
    current: dict[str, Any] | None,
    *,
    mode: str,
    failed_error: str | None,
    quarantine: Sequence[dict[str, Any]],
    now: str,
    instance_id: str | None,
    system_partition: str,
) -> dict[str, Any]:
    """The `runs` document after a run ended: `failed_error` is None for a completed run.

    `quarantine`: the active quarantine records (per region-month) after the run."""
    old = current or {}
    consecutive = int(old.get("consecutive_failures", 0))
    last_run_error = old.get("last_run_error")
    if mode == "incremental":
        consecutive = consecutive + 1 if failed_error is not None else 0
        last_run_error = error_type(failed_error) if failed_error is not None else None
    records = sorted(quarantine, key=lambda r: str(r.get("key", "")))
    erred = sorted((r for r in records if r.get("error")), key=lambda r: str(r.get("updated_at", "")))
    if consecutive and last_run_error:
        last_error: str | None = f"run failed: {last_run_error}"
    elif erred:
        last_error = f"{erred[-1]['key']}: {erred[-1].get('error_type') or 'Error'}"
    else:
        last_error = None
    return {
        "id": RUNS_DOC_ID,
        "region_code": system_partition,
        "doc_type": "runs",
        "key": RUNS_DOC_ID,
        # Written only when something but the time and the instance changed: `updated_at` is when it did.
        "last_run_status": "failed" if failed_error is not None else "completed",
        "last_run_mode": mode,
        "consecutive_failures": consecutive,
        "last_run_error": last_run_error,
        "last_error": last_error,
        "quarantined_region_months": len(records),
        "set_aside_region_months": sum(1 for r in records if r.get("set_aside")),
        "quarantined": [str(r.get("key")) for r in records[:MAX_LISTED]],
        "updated_at": now,
        "instance_id": instance_id,
    }


def materialization_check(runs: dict[str, Any] | None) -> dict[str, Any]:
    """Health's account of the materialization: degraded while anything is quarantined or the incremental
    run failed twice in a row (once may be a blip the next run repairs)."""
    doc = runs if isinstance(runs, dict) else {}
    quarantined = int(doc.get("quarantined_region_months", 0) or 0)
    failures = int(doc.get("consecutive_failures", 0) or 0)
    status = doc.get("last_run_status")
    return {
        "status": "degraded" if quarantined > 0 or failures >= 2 else "ok",
        "quarantined_region_months": quarantined,
        "quarantined": [str(k) for k in doc.get("quarantined", [])][:MAX_LISTED],
        "consecutive_failures": failures,
        "last_error": doc.get("last_error"),
        "last_run": None
        if status is None
        else {"status": status, "mode": doc.get("last_run_mode"), "at": doc.get("updated_at")},
    }
