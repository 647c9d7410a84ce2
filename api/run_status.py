"""How a materialization run reads in the API: a backfill or the scheduled incremental run, one shape for both."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from orchestrations.names import BACKFILL_INSTANCE_PREFIX, INCREMENTAL_INSTANCE_ID

RunKind = Literal["backfill", "incremental"]
_BACKFILL_ID = re.compile(rf"{re.escape(BACKFILL_INSTANCE_PREFIX)}[0-9a-f]{{16}}")


def run_kind(instance_id: str) -> RunKind | None:
    """The kind of run an instance id names; None for any other id (never one of ours)."""
    if _BACKFILL_ID.fullmatch(instance_id):
        return "backfill"
    return "incremental" if instance_id == INCREMENTAL_INSTANCE_ID else None


def runtime_status(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return None if value is None else str(getattr(value, "value", value))


def iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def as_object(value: Any) -> Any:
    """The extension hands the input back as JSON text (the SDK encodes it twice): decode it once more."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def status_body(instance_id: str, status: Any, links: dict[str, str], already_running: bool = False) -> dict[str, Any]:
    runtime = runtime_status(status)
    progress = as_object(getattr(status, "custom_status", None))
    request = as_object(getattr(status, "input_", None))
    kind = run_kind(instance_id)
    return {
        "id": instance_id,
        "kind": kind,
        "runtime_status": runtime,
        "created_time": iso(getattr(status, "created_time", None)),
        "last_updated_time": iso(getattr(status, "last_updated_time", None)),
        # The incremental run has no range of its own: it takes what Gold loaded since its watermark.
        "request": (
            {k: request.get(k) for k in ("start_date", "end_date", "region_codes")}
            if isinstance(request, dict) and kind == "backfill"
            else None
        ),
        "progress": progress if isinstance(progress, dict) else None,
        # Only a completed run's summary: a failure's output can hold internal messages.
        "output": as_object(getattr(status, "output", None)) if runtime == "Completed" else None,
        "already_running": already_running,
        "links": links,
    }
