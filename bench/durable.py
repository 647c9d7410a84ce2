"""The Durable HTTP API of devhost: orchestration status, waiting for completion, starting an incremental run."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import requests

from orchestrations.names import INCREMENTAL_INSTANCE_ID, ORCHESTRATOR

# devhost's local RPC endpoint (what the SDK's client calls; no key): the webhooks need the system key.
RUNTIME = "/durabletask"
FAILED = {"Failed", "Terminated", "Canceled"}


def status_path(instance_id: str = INCREMENTAL_INSTANCE_ID) -> str:
    return f"{RUNTIME}/instances/{instance_id}"


def get_status(
    base_url: str, instance_id: str = INCREMENTAL_INSTANCE_ID, *, history: bool = False
) -> dict[str, Any] | None:
    """The instance status JSON, or None while the instance does not exist yet."""
    params = {"showHistory": "true"} if history else None
    resp = requests.get(base_url + status_path(instance_id), params=params, timeout=10)
    if resp.status_code == 404:
        return None
    if resp.status_code not in (200, 202):
        raise RuntimeError(f"status of {instance_id}: HTTP {resp.status_code} {resp.text[:200]}")
    body: dict[str, Any] = resp.json()
    return body


def wait_completed(
    base_url: str,
    instance_id: str = INCREMENTAL_INSTANCE_ID,
    *,
    not_created: str | None = None,
    timeout: float = 1800.0,
    poll: float = 0.1,
) -> dict[str, Any]:
    """Poll until the instance (a run other than the one created at `not_created`) is Completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = get_status(base_url, instance_id)
        if status is not None and status.get("createdTime") != not_created:
            runtime_status = status.get("runtimeStatus")
            if runtime_status == "Completed":
                return status
            if runtime_status in FAILED:
                raise RuntimeError(f"{instance_id} ended {runtime_status}: {status.get('output')}")
        time.sleep(poll)
    raise TimeoutError(f"{instance_id} not completed after {timeout:.0f} s")


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_seconds(status: dict[str, Any]) -> float | None:
    """createdTime → lastUpdatedTime of a finished instance: the orchestration's own duration."""
    created, updated = _instant(status.get("createdTime")), _instant(status.get("lastUpdatedTime"))
    if created is None or updated is None:
        return None
    return round((updated - created).total_seconds(), 3)


def activities_run(status_with_history: dict[str, Any] | None, output: dict[str, Any] | None) -> int | None:
    """Activities completed, from the history when it is there, else plan + batches + commit from the output."""
    history = (status_with_history or {}).get("historyEvents")
    if isinstance(history, list) and history:
        # EventType is the Durable enum: its name in some hosts, its number (TaskCompleted = 5) in others.
        return sum(1 for e in history if isinstance(e, dict) and e.get("EventType") in ("TaskCompleted", 5))
    if output and isinstance(output.get("batches"), int):
        return output["batches"] + 2
    return None


def start_incremental(base_url: str) -> None:
    """Start the singleton incremental instance through the Durable HTTP API (as the timer would)."""
    url = f"{base_url}{RUNTIME}/orchestrators/{ORCHESTRATOR}/{INCREMENTAL_INSTANCE_ID}"
    resp = requests.post(url, json={"mode": "incremental"}, timeout=10)
    if resp.status_code not in (200, 201, 202):
        raise RuntimeError(f"starting {INCREMENTAL_INSTANCE_ID}: HTTP {resp.status_code} {resp.text[:200]}")
