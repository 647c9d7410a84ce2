"""The delivery orchestration of one webhook subscription, and what starts it.

`webhook-{subscription_id}` takes the next batch of matching changes from the subscription's cursor (an
activity), POSTs it until the receiver answers 2xx (another activity, which then moves the cursor past it),
waiting on durable timers between attempts (exponential back-off), and goes on until caught up. A batch that
still fails after the retry window disables the subscription with the last error. The batch is fixed in the
history once taken, so every redelivery sends the same body under the same `webhook-id`; a killed host
replays to where it was (at least once, in feed order).

Started after every materialization run that committed (the materialization orchestrator calls the
`start_webhook_deliveries` activity, which holds a durable client), for every active subscription with changes
past its cursor, unless already running. The scheduled incremental run does it too (every 15 minutes by
default, with or without changes), which also starts what a run missed: changes committed while a delivery
orchestration was finishing (it was still Running, so not started again).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any, Protocol

import azure.durable_functions as df

from core.settings import Settings, get_settings
from domain import change_feed, webhooks
from domain.ports import DocumentStore
from orchestrations.names import (
    ACTIVITY_WEBHOOK_DISABLE,
    ACTIVITY_WEBHOOK_NEXT_BATCH,
    ACTIVITY_WEBHOOK_SEND,
    WEBHOOK_ORCHESTRATOR,
)

bp = df.Blueprint()
log = logging.getLogger(__name__)

# The activities themselves are retried a little (a store hiccup); the receiver's failures are the orchestrator's.
STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=3)
BATCHES_PER_EXECUTION = 50  # then continue as new: the history stays small
_ACTIVE = {"Running", "Pending"}


class StartingClient(Protocol):
    async def get_status(self, instance_id: str) -> Any: ...

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = ..., client_input: Any = ...
    ) -> str: ...


def delivery_policy(settings: Settings | None = None) -> dict[str, Any]:
    """The settings a delivery orchestration runs with, fixed in its input when it starts."""
    settings = settings or get_settings()
    return {
        "batch_size": settings.WEBHOOKS_BATCH_SIZE,
        "retry_base_seconds": settings.WEBHOOKS_RETRY_BASE_SECONDS,
        "retry_max_seconds": settings.WEBHOOKS_RETRY_MAX_SECONDS,
        "retry_window_seconds": settings.WEBHOOKS_RETRY_WINDOW_SECONDS,
    }


def _status_name(status: Any) -> str | None:
    runtime = getattr(status, "runtime_status", None)
    return getattr(runtime, "value", None) or (str(runtime) if runtime is not None else None)


def pending(documents: DocumentStore, subscription: dict[str, Any]) -> bool:
    """Whether the feed holds entries past the subscription's cursor (matching or not)."""
    cursor = change_feed.decode_cursor(str(subscription["cursor"]))
    return bool(change_feed.read_changes(documents, cursor, 1).entries)


async def start_deliveries(client: StartingClient, documents: DocumentStore, policy: dict[str, Any]) -> list[str]:
    """Start the delivery orchestration of every active subscription with pending changes, unless it runs;
    the subscription ids started."""
    started: list[str] = []
    for subscription in webhooks.list_subscriptions(documents):
        if subscription.get("state") != "active" or not pending(documents, subscription):
            continue
        subscription_id = str(subscription["subscription_id"])
        instance_id = webhooks.instance_id(subscription_id)
        status = await client.get_status(instance_id)
        if status is not None and _status_name(status) in _ACTIVE:
            continue
        await client.start_new(WEBHOOK_ORCHESTRATOR, instance_id, {"subscription_id": subscription_id, **policy})
        started.append(subscription_id)
    if started:
        log.info("webhook deliveries started for %s", started)
    return started


@bp.orchestration_trigger(context_name="context")
def webhook_delivery_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    request: dict[str, Any] = context.get_input() or {}
    subscription_id = str(request["subscription_id"])
    delivered = 0
    for _ in range(BATCHES_PER_EXECUTION):
        batch = yield context.call_activity_with_retry(
            ACTIVITY_WEBHOOK_NEXT_BATCH, STEP_RETRY, {"subscription_id": subscription_id, **_policy(request)}
        )
        if batch is None:  # caught up, or the subscription is no longer active
            return {"subscription_id": subscription_id, "delivered": delivered, "caught_up": True}
        outcome = yield from _deliver(context, subscription_id, batch, request)
        if outcome != "delivered":
            return {"subscription_id": subscription_id, "delivered": delivered, "stopped": outcome}
        delivered += 1
    context.continue_as_new(request)
    return {"subscription_id": subscription_id, "delivered": delivered, "continued": True}


def _policy(request: dict[str, Any]) -> dict[str, Any]:
    return {k: request[k] for k in ("batch_size",) if k in request}


def _deliver(
    context: df.DurableOrchestrationContext, subscription_id: str, batch: dict[str, Any], request: dict[str, Any]
) -> Generator[Any, Any, str]:
    """POST `batch` until a 2xx ("delivered"), the subscription is gone ("gone") or the window is over
    ("disabled")."""
    base, most = int(request.get("retry_base_seconds", 30)), int(request.get("retry_max_seconds", 3600))
    window = timedelta(seconds=int(request.get("retry_window_seconds", 86400)))
    first_failure = None
    attempt = 1
    while True:
        sent = yield context.call_activity_with_retry(
            ACTIVITY_WEBHOOK_SEND, STEP_RETRY, {"subscription_id": subscription_id, "batch": batch, "attempt": attempt}
        )
        if sent["ok"]:
            return "delivered"
        if sent.get("gone"):
            return "gone"
        now = context.current_utc_datetime
        first_failure = first_failure or now
        if now - first_failure >= window:
            reason = f"delivery failed for {window} (last attempt {attempt}: {sent.get('error')})"
            yield context.call_activity_with_retry(
                ACTIVITY_WEBHOOK_DISABLE, STEP_RETRY, {"subscription_id": subscription_id, "reason": reason}
            )
            return "disabled"
        wait = timedelta(seconds=webhooks.backoff_seconds(attempt, base, most))
        yield context.create_timer(now + min(wait, first_failure + window - now + timedelta(seconds=1)))
        attempt += 1
