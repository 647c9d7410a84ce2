"""Webhook subscriptions and their deliveries: the documents, the filter, the batches and their payload.

A subscription is one document of the `_webhooks` partition (key: its id) holding the target URL, the filter,
the signing secret (needed to sign every delivery, so it is stored; the document store is private to the app),
its state (active, disabled with a reason, or deleted) and its cursor in the changes feed: the position of the
first change not yet acknowledged by the receiver. A delivery orchestration per subscription
(orchestrations/webhooks.py) takes the next batch from that cursor, POSTs it until a 2xx (Standard Webhooks
signature, exponential back-off on durable timers for up to a day), then moves the cursor past it by
compare-and-swap: at least once, in feed order. A batch's `webhook-id` is derived from the subscription and the
feed range it covers, so a redelivery carries the same id and a receiver can deduplicate.
The last MAX_RECORDED_ATTEMPTS attempts are kept in one more document per subscription.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from domain import change_feed
from domain.conditional_write import write_versioned
from domain.ports import Document, DocumentStore

WEBHOOKS_PARTITION = "_webhooks"
SUBSCRIPTION_DOC_TYPE = "webhook"
ATTEMPTS_DOC_TYPE = "webhook-attempts"
KEY_FIRST, KEY_LAST = "", "\uffff"
MAX_RECORDED_ATTEMPTS = 50
EVENT_TYPE = "changes.batch"
INSTANCE_PREFIX = "webhook-"
Kind = Literal["day", "month"]
State = Literal["active", "disabled", "deleted"]
_DAY_PATH = "/v1/production/regional/{region}/{date}"
_RANGE_PATH = "/v1/production/regional"


@dataclass(frozen=True)
class ChangeFilter:
    """Which feed entries a subscription wants: regions (None: all), kinds (None: both), final data only."""

    regions: tuple[str, ...] | None = None
    kinds: tuple[Kind, ...] | None = None
    final_only: bool = False

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.regions is not None and entry.get("region") not in self.regions:
            return False
        if self.kinds is not None and entry.get("kind") not in self.kinds:
            return False
        return not self.final_only or bool(entry.get("final"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "regions": list(self.regions) if self.regions is not None else None,
            "kinds": list(self.kinds) if self.kinds is not None else None,
            "final_only": self.final_only,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ChangeFilter:
        data = data or {}
        regions, kinds = data.get("regions"), data.get("kinds")
        return cls(
            tuple(regions) if regions is not None else None,
            tuple(kinds) if kinds is not None else None,
            bool(data.get("final_only")),
        )


def instance_id(subscription_id: str) -> str:
    """The delivery orchestration of a subscription: one at a time per subscription."""
    return INSTANCE_PREFIX + subscription_id


def subscription_document(
    subscription_id: str,
    owner: str,
    url: str,
    change_filter: ChangeFilter,
    secret: str,
    cursor: str,
    created_at: str,
) -> Document:
    return {
        "id": f"{SUBSCRIPTION_DOC_TYPE}:{subscription_id}",
        "region_code": WEBHOOKS_PARTITION,
        "doc_type": SUBSCRIPTION_DOC_TYPE,
        "key": subscription_id,
        "subscription_id": subscription_id,
        "owner": owner,
        "url": url,
        "filter": change_filter.as_dict(),
        "secret": secret,
        "state": "active",
        "disabled_reason": None,
        "disabled_at": None,
        "created_at": created_at,
        "cursor": cursor,
        "delivered_batches": 0,
        "last_delivery_at": None,
    }


def get_subscription(documents: DocumentStore, subscription_id: str) -> Document | None:
    """The subscription (None when absent or deleted)."""
    doc = documents.get(WEBHOOKS_PARTITION, f"{SUBSCRIPTION_DOC_TYPE}:{subscription_id}")
    return doc if doc is not None and doc.get("state") != "deleted" else None


def list_subscriptions(documents: DocumentStore, owner: str | None = None) -> list[Document]:
    """Every subscription not deleted (of `owner` only, when given), by id."""
    docs = documents.query_range(WEBHOOKS_PARTITION, SUBSCRIPTION_DOC_TYPE, KEY_FIRST, KEY_LAST)
    return [d for d in docs if d.get("state") != "deleted" and (owner is None or d.get("owner") == owner)]


def _update(documents: DocumentStore, subscription_id: str, change: Any) -> Document | None:
    """Apply `change(current) -> new | None` by compare-and-swap; the document written (None: left as it was)."""
    doc_id = f"{SUBSCRIPTION_DOC_TYPE}:{subscription_id}"

    def build(current: Document | None) -> Document | None:
        return change(current) if current is not None else None

    outcome = write_versioned(documents, None, WEBHOOKS_PARTITION, doc_id, build)
    return outcome.stored if outcome.written else None


def delete_subscription(documents: DocumentStore, subscription_id: str, now: str) -> bool:
    """Mark deleted (the store has no delete): the secret is dropped, the delivery orchestration stops."""

    def change(current: Document) -> Document | None:
        if current.get("state") == "deleted":
            return None
        return {**current, "state": "deleted", "secret": None, "deleted_at": now}

    return _update(documents, subscription_id, change) is not None


def disable_subscription(documents: DocumentStore, subscription_id: str, reason: str, now: str) -> bool:
    def change(current: Document) -> Document | None:
        if current.get("state") != "active":
            return None
        return {**current, "state": "disabled", "disabled_reason": reason[:1000], "disabled_at": now}

    return _update(documents, subscription_id, change) is not None


def advance_cursor(documents: DocumentStore, subscription_id: str, since: str, cursor: str, now: str) -> bool:
    """Move the cursor from `since` to `cursor`; False (nothing written) when it is no longer at `since`."""

    def change(current: Document) -> Document | None:
        if current.get("cursor") != since:
            return None
        delivered = int(current.get("delivered_batches") or 0)
        return {**current, "cursor": cursor, "delivered_batches": delivered + 1, "last_delivery_at": now}

    return _update(documents, subscription_id, change) is not None


def skip_to(documents: DocumentStore, subscription_id: str, since: str, cursor: str) -> bool:
    """Move the cursor over feed entries the filter does not want (no delivery, no count)."""

    def change(current: Document) -> Document | None:
        return {**current, "cursor": cursor} if current.get("cursor") == since else None

    return _update(documents, subscription_id, change) is not None


def feed_end(documents: DocumentStore) -> change_feed.Position:
    """The position after the last change of the feed: pages probed by doubling then halving (O(log pages))."""
    if not _page_exists(documents, 1):
        return change_feed.START
    low, high = 1, 2
    while _page_exists(documents, high):
        low, high = high, high * 2
    while high - low > 1:  # page `low` exists, page `high` does not
        middle = (low + high) // 2
        low, high = (middle, high) if _page_exists(documents, middle) else (low, middle)
    read = change_feed.read_changes(documents, change_feed.Position(low, 0), 1 << 19)
    return read.next


def _page_exists(documents: DocumentStore, page: int) -> bool:
    return bool(change_feed.read_changes(documents, change_feed.Position(page, 0), 1).entries)


def href(entry: dict[str, Any]) -> str:
    """Where the document is served, relative to the API's base URL (as GET /v1/changes links it)."""
    region, key = entry["region"], entry["key"]
    if entry["kind"] == "day":
        return _DAY_PATH.format(region=region, date=key)
    last = calendar.monthrange(int(key[:4]), int(key[5:7]))[1]
    query = {"region_code": region, "start_date": f"{key}-01", "end_date": f"{key}-{last:02d}", "granularity": "day"}
    return f"{_RANGE_PATH}?{urlencode(query)}"


def item(entry: dict[str, Any]) -> dict[str, Any]:
    """One change as a delivery carries it (the fields of a GET /v1/changes item, `href` relative)."""
    out = {
        "region": entry["region"],
        "kind": entry["kind"],
        "date" if entry["kind"] == "day" else "month": entry["key"],
    }
    out |= {k: entry.get(k) for k in ("content_hash", "nature", "final", "loaded_at", "materialized_at")}
    return out | {"href": href(entry)}


def webhook_id(subscription_id: str, since: str, cursor: str) -> str:
    """Stable per batch (subscription + feed range): a redelivery keeps it."""
    digest = hashlib.sha256(f"{subscription_id}|{since}|{cursor}".encode()).hexdigest()[:24]
    return f"msg_{digest}"


@dataclass(frozen=True)
class Batch:
    webhook_id: str
    since: str
    cursor: str
    payload: str  # the JSON body, fixed once (a redelivery sends the same bytes)
    items: int


def next_batch(
    documents: DocumentStore, subscription: Document, limit: int, created_at: str, *, max_reads: int = 50
) -> Batch | None:
    """The next batch of matching changes from the subscription's cursor; None when caught up. Entries the filter
    does not want are skipped by moving the cursor (at most `max_reads` reads of `limit` entries per call)."""
    subscription_id = str(subscription["subscription_id"])
    change_filter = ChangeFilter.from_dict(subscription.get("filter"))
    since = str(subscription["cursor"])
    for _ in range(max_reads):
        read = change_feed.read_changes(documents, change_feed.decode_cursor(since), limit)
        if not read.entries:
            return None
        matching = [e for e in read.entries if change_filter.matches(e)]
        cursor = change_feed.encode_cursor(read.next)
        if matching:
            payload = delivery_payload(subscription_id, since, cursor, matching, created_at)
            return Batch(webhook_id(subscription_id, since, cursor), since, cursor, payload, len(matching))
        if not skip_to(documents, subscription_id, since, cursor):
            return None  # the cursor moved meanwhile (another execution): the next call starts from it
        since = cursor
    return None


def delivery_payload(
    subscription_id: str, since: str, cursor: str, entries: Sequence[dict[str, Any]], created_at: str
) -> str:
    """The body: Standard Webhooks' `{type, timestamp, data}` with the feed range and the changes."""
    data = {
        "subscription_id": subscription_id,
        "since": since,
        "cursor": cursor,
        "count": len(entries),
        "items": [item(e) for e in entries],
    }
    return json.dumps({"type": EVENT_TYPE, "timestamp": created_at, "data": data}, separators=(",", ":"))


def backoff_seconds(attempt: int, base_seconds: int, max_seconds: int) -> int:
    """Wait before retry number `attempt` (from 1): base × 2^(attempt-1), capped."""
    return int(min(max_seconds, base_seconds * 2 ** min(attempt - 1, 30)))


def record_attempt(documents: DocumentStore, subscription_id: str, attempt: dict[str, Any]) -> None:
    """Keep the attempt among the subscription's last MAX_RECORDED_ATTEMPTS (newest first)."""
    doc_id = f"{ATTEMPTS_DOC_TYPE}:{subscription_id}"

    def build(current: Document | None) -> Document:
        previous = list((current or {}).get("attempts", []))
        return {
            "id": doc_id,
            "region_code": WEBHOOKS_PARTITION,
            "doc_type": ATTEMPTS_DOC_TYPE,
            "key": subscription_id,
            "attempts": [attempt, *previous][:MAX_RECORDED_ATTEMPTS],
        }

    write_versioned(documents, None, WEBHOOKS_PARTITION, doc_id, build)


def recent_attempts(documents: DocumentStore, subscription_id: str) -> list[dict[str, Any]]:
    doc = documents.get(WEBHOOKS_PARTITION, f"{ATTEMPTS_DOC_TYPE}:{subscription_id}")
    return list((doc or {}).get("attempts", []))
