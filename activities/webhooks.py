"""Activity triggers of the webhook deliveries: thin wrappers over domain.webhooks and stores.webhook_sender."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from standardwebhooks.webhooks import Webhook

from core.settings import Settings, get_settings
from core.telemetry import log_context
from domain import webhooks
from domain.ports import DocumentStore
from orchestrations.webhooks import delivery_policy, start_deliveries
from stores.factory import get_stores
from stores.webhook_sender import SendPolicy, SendResult, post

bp = df.Blueprint()
log = logging.getLogger(__name__)

# Activity inputs are annotated with plain `dict` (see activities/materialize.py).


def _now() -> datetime:
    return datetime.now(UTC)


def send_policy(settings: Settings) -> SendPolicy:
    return SendPolicy(
        allow_loopback=settings.WEBHOOKS_ALLOW_LOOPBACK,
        connect_timeout_seconds=settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds=settings.WEBHOOKS_READ_TIMEOUT_SECONDS,
        max_response_bytes=settings.WEBHOOKS_MAX_RESPONSE_BYTES,
    )


@bp.activity_trigger(input_name="request")
@bp.durable_client_input(client_name="client")
async def start_webhook_deliveries(request: dict, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Called by the materialization orchestrator after its commit: start the deliveries of its changes."""
    with log_context(instance_id=request.get("instance_id")):
        started = await start_deliveries(client, get_stores().documents, delivery_policy())
        return {"started": started}


def take_batch(documents: DocumentStore, subscription_id: str, batch_size: int, now: datetime) -> dict[str, Any] | None:
    subscription = webhooks.get_subscription(documents, subscription_id)
    if subscription is None or subscription.get("state") != "active":
        return None
    batch = webhooks.next_batch(documents, subscription, batch_size, now.isoformat(timespec="seconds"))
    if batch is None:
        return None
    return {
        "webhook_id": batch.webhook_id,
        "since": batch.since,
        "cursor": batch.cursor,
        "payload": batch.payload,
        "items": batch.items,
    }


@bp.activity_trigger(input_name="request")
def next_webhook_batch(request: dict) -> dict[str, Any] | None:
    size = int(request.get("batch_size") or get_settings().WEBHOOKS_BATCH_SIZE)
    return take_batch(get_stores().documents, str(request["subscription_id"]), size, _now())


def send_batch(
    documents: DocumentStore, subscription_id: str, batch: dict[str, Any], attempt: int, policy: SendPolicy
) -> dict[str, Any]:
    """Sign and POST the batch; on a 2xx move the cursor past it. Every attempt is recorded."""
    subscription = webhooks.get_subscription(documents, subscription_id)
    if subscription is None or subscription.get("state") != "active" or not subscription.get("secret"):
        return {"ok": False, "gone": True}
    now = _now()
    signed = Webhook(str(subscription["secret"])).sign(batch["webhook_id"], now, batch["payload"])
    headers = {
        "webhook-id": batch["webhook_id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signed,
        "User-Agent": "eco2mix-webhooks/1",
    }
    result: SendResult = post(str(subscription["url"]), batch["payload"].encode(), headers, policy)
    record = {
        "at": now.isoformat(timespec="milliseconds"),
        "webhook_id": batch["webhook_id"],
        "attempt": attempt,
        "status": result.status,
        "ok": result.ok,
        "latency_ms": result.latency_ms,
        "items": batch.get("items"),
        "since": batch["since"],
        "cursor": batch["cursor"],
        "error": result.error,
    }
    webhooks.record_attempt(documents, subscription_id, record)
    if result.ok:
        webhooks.advance_cursor(documents, subscription_id, batch["since"], batch["cursor"], record["at"])
    else:
        log.warning("webhook %s attempt %s failed: %s", subscription_id, attempt, result.error)
    return {"ok": result.ok, "status": result.status, "error": result.error}


@bp.activity_trigger(input_name="request")
def send_webhook_batch(request: dict) -> dict[str, Any]:
    policy = send_policy(get_settings())
    return send_batch(
        get_stores().documents, str(request["subscription_id"]), request["batch"], int(request["attempt"]), policy
    )


@bp.activity_trigger(input_name="request")
def disable_webhook(request: dict) -> dict[str, Any]:
    subscription_id, reason = str(request["subscription_id"]), str(request["reason"])
    disabled = webhooks.disable_subscription(get_stores().documents, subscription_id, reason, _now().isoformat())
    log.error("webhook %s disabled: %s", subscription_id, reason)
    return {"disabled": disabled}
