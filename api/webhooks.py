"""POST/GET /v1/webhooks, GET/DELETE /v1/webhooks/{subscription_id}, GET .../deliveries: webhook subscriptions.

A reader owns the subscriptions it makes (owner: its API key id or token subject); an operator sees and deletes
all of them. The target must be a public https address (domain.webhook_targets, resolved now and again at
each delivery): anything else is a 400 naming `url`. The signing secret (Standard Webhooks, `whsec_...`) is
in the 201 answer only. Deliveries start after the next materialization run that commits changes past the
subscription's cursor (by default the end of the feed when subscribing; `since` replays from an older cursor).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any, Literal

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from api import caching
from api.auth import Role
from api.backfills import read_json_body
from api.changes import ChangeItem
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, respond
from api.openapi import Operation, WebhookEvent
from api.params import QueryRegionCode, parse
from domain import change_feed, webhooks
from domain.ports import DocumentStore
from domain.webhook_targets import UnsafeTarget, check_target

bp = df.Blueprint()

COLLECTION_ROUTE = Route("webhooks", "/v1/webhooks", {"GET": Role.reader, "POST": Role.reader})
ITEM_ROUTE = Route("webhook", "/v1/webhooks/{subscription_id}", {"GET": Role.reader, "DELETE": Role.reader})
DELIVERIES_ROUTE = Route("webhook_deliveries", "/v1/webhooks/{subscription_id}/deliveries", {"GET": Role.reader})
MAX_SUBSCRIPTIONS_PER_OWNER = 25


class WebhookFilter(BaseModel):
    """Which changes a subscription receives; every change when omitted."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    regions: list[QueryRegionCode] | None = Field(
        default=None, min_length=1, max_length=13, description="Region codes; all regions when omitted"
    )
    kinds: list[Literal["day", "month"]] | None = Field(
        default=None, min_length=1, max_length=2, description="Region-days, region-months or both (when omitted)"
    )
    final_only: bool = Field(False, description="Only changes of definitive data")


class WebhookRequest(BaseModel):
    """POST /v1/webhooks body."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(
        max_length=2048,
        description="Where deliveries are POSTed: an https URL whose host resolves to public addresses only",
        examples=["https://example.org/eco2mix/hook"],
    )
    filter: WebhookFilter | None = None
    since: str | None = Field(
        default=None,
        pattern=change_feed.CURSOR_PATTERN,
        description="Deliver from this changes-feed cursor (GET /v1/changes); from the feed's end when omitted",
    )


class WebhookPath(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    subscription_id: str = Field(max_length=64)


class WebhookFilterOut(BaseModel):
    regions: list[str] | None
    kinds: list[Literal["day", "month"]] | None
    final_only: bool


class Subscription(BaseModel):
    id: str
    url: str
    filter: WebhookFilterOut
    state: Literal["active", "disabled"]
    disabled_reason: str | None = Field(description="Why deliveries stopped (state disabled)")
    disabled_at: dt.datetime | None
    created_at: dt.datetime
    cursor: str = Field(description="The changes-feed position of the first change not yet acknowledged")
    delivered_batches: int
    last_delivery_at: dt.datetime | None
    owner: str = Field(description="The API key id or token subject that made it")
    deliveries: str = Field(description="Path of its recent delivery attempts")


class CreatedSubscription(Subscription):
    secret: str = Field(
        description="The Standard Webhooks signing secret (whsec_...): shown only in this answer; keep it"
    )


class SubscriptionList(BaseModel):
    items: list[Subscription]
    count: int


class DeliveryAttempt(BaseModel):
    at: dt.datetime
    webhook_id: str = Field(description="The delivery's webhook-id header: the same on every redelivery")
    attempt: int = Field(description="1 for the first attempt of this batch")
    status: int | None = Field(description="The receiver's HTTP status; null when no answer (refused, network)")
    ok: bool
    latency_ms: int
    items: int | None
    since: str
    cursor: str
    error: str | None


class DeliveryList(BaseModel):
    items: list[DeliveryAttempt] = Field(description="The most recent attempts, newest first")
    count: int


class WebhookBatch(BaseModel):
    subscription_id: str
    since: str = Field(description="Feed cursor where this batch starts")
    cursor: str = Field(description="Feed cursor after this batch (GET /v1/changes?since= resumes there)")
    count: int
    items: list[ChangeItem] = Field(description="The matching changes, in feed order; `href` relative to the API")


class WebhookPayload(BaseModel):
    """The body of a delivery (JSON), signed per Standard Webhooks: headers webhook-id, webhook-timestamp and
    webhook-signature (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the subscription's secret)."""

    type: Literal["changes.batch"]
    timestamp: dt.datetime = Field(description="When the batch was taken from the feed (UTC)")
    data: WebhookBatch


OPERATIONS = (
    Operation(
        COLLECTION_ROUTE,
        "POST",
        "createWebhook",
        "Subscribe a public https URL to the changes (signed deliveries); the secret is shown only in this answer",
        body=WebhookRequest,
        ok_status=201,
        ok_model=CreatedSubscription,
        ok_headers=("Location",),
        errors=(400, 409, 413, 415),
    ),
    Operation(
        COLLECTION_ROUTE,
        "GET",
        "listWebhooks",
        "The caller's subscriptions (an operator's: all)",
        ok_model=SubscriptionList,
    ),
    Operation(
        ITEM_ROUTE, "GET", "getWebhook", "One subscription", path=WebhookPath, ok_model=Subscription, errors=(404,)
    ),
    Operation(
        ITEM_ROUTE,
        "DELETE",
        "deleteWebhook",
        "Delete a subscription: its deliveries stop",
        path=WebhookPath,
        ok_status=204,
        errors=(404,),
        extra_responses={
            "204": {"description": "Deleted", "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}}
        },
    ),
    Operation(
        DELIVERIES_ROUTE,
        "GET",
        "listWebhookDeliveries",
        "The subscription's recent delivery attempts with status and latency",
        path=WebhookPath,
        ok_model=DeliveryList,
        errors=(404,),
    ),
)
WEBHOOK_EVENTS = (
    WebhookEvent(
        "changes.batch",
        "Changed region-days and region-months, in feed order",
        WebhookPayload,
        "POSTed to a subscription's URL after a materialization run commits matching changes. At least once and "
        "in feed order; a redelivery keeps its webhook-id. Verify the signature with the secret, e.g. "
        "`standardwebhooks.Webhook(secret).verify(body, headers)`, then answer 2xx; anything else (a redirect "
        "included) is retried with exponential back-off for up to a day, then the subscription is disabled.",
    ),
)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _owner(ctx: RequestContext) -> str:
    assert ctx.principal is not None
    return ctx.principal.subject


def _is_operator(ctx: RequestContext) -> bool:
    return ctx.principal is not None and ctx.principal.role >= Role.operator


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    subscription_id = str(doc["subscription_id"])
    return {
        "id": subscription_id,
        "url": doc["url"],
        "filter": webhooks.ChangeFilter.from_dict(doc.get("filter")).as_dict(),
        "state": doc["state"],
        "disabled_reason": doc.get("disabled_reason"),
        "disabled_at": doc.get("disabled_at"),
        "created_at": doc["created_at"],
        "cursor": doc["cursor"],
        "delivered_batches": int(doc.get("delivered_batches") or 0),
        "last_delivery_at": doc.get("last_delivery_at"),
        "owner": doc["owner"],
        "deliveries": f"{COLLECTION_ROUTE.path}/{subscription_id}/deliveries",
    }


def _url_error(detail: str) -> ApiError:
    return ApiError(
        400,
        f"`url` is not an acceptable webhook target: {detail}.",
        errors=[ParameterError("url", detail)],
        slug="invalid-parameters",
    )


def create_subscription(
    documents: DocumentStore, request: WebhookRequest, owner: str, allow_loopback: bool, now: str
) -> dict[str, Any]:
    """The new subscription (public view + secret); 400 naming `url` for a target that is not public."""
    try:
        check_target(request.url, allow_loopback)
    except UnsafeTarget as exc:
        raise _url_error(str(exc)) from None
    if len(webhooks.list_subscriptions(documents, owner)) >= MAX_SUBSCRIPTIONS_PER_OWNER:
        raise ApiError(409, f"At most {MAX_SUBSCRIPTIONS_PER_OWNER} subscriptions per caller.", slug="too-many")
    cursor = request.since or change_feed.encode_cursor(webhooks.feed_end(documents))
    flt = request.filter or WebhookFilter(final_only=False)
    change_filter = webhooks.ChangeFilter(
        tuple(sorted(set(flt.regions))) if flt.regions else None,
        tuple(sorted(set(flt.kinds))) if flt.kinds else None,
        flt.final_only,
    )
    subscription_id = "wh_" + secrets.token_hex(8)
    secret = new_secret()
    doc = webhooks.subscription_document(subscription_id, owner, request.url, change_filter, secret, cursor, now)
    if not documents.replace_if(doc, None):
        raise RuntimeError("subscription id collision")
    return {**public_view(doc), "secret": secret}


def _visible(documents: DocumentStore, ctx: RequestContext) -> dict[str, Any]:
    path = parse(WebhookPath, dict(ctx.req.route_params), what="path")
    doc = webhooks.get_subscription(documents, path.subscription_id)
    if doc is None or (doc.get("owner") != _owner(ctx) and not _is_operator(ctx)):
        raise ApiError(404, f"No webhook subscription {path.subscription_id!r}.", slug="unknown-webhook")
    return doc


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _collection(ctx: RequestContext) -> Reply:
    documents = ctx.stores.documents
    if ctx.method == "POST":
        request = parse(WebhookRequest, read_json_body(ctx.req), what="body")
        body = create_subscription(documents, request, _owner(ctx), ctx.settings.WEBHOOKS_ALLOW_LOOPBACK, _now())
        headers = {"Location": f"{COLLECTION_ROUTE.path}/{body['id']}"}
        return Reply(body, status=201, headers=headers, cache_control=caching.NO_STORE)
    owner = None if _is_operator(ctx) else _owner(ctx)
    items = [public_view(d) for d in webhooks.list_subscriptions(documents, owner)]
    return Reply({"items": items, "count": len(items)}, cache_control=caching.NO_STORE)


def _item(ctx: RequestContext) -> Reply:
    documents = ctx.stores.documents
    doc = _visible(documents, ctx)
    if ctx.method == "DELETE":
        webhooks.delete_subscription(documents, str(doc["subscription_id"]), _now())
        return Reply(None, status=204, cache_control=caching.NO_STORE)
    return Reply(public_view(doc), cache_control=caching.NO_STORE)


def _deliveries(ctx: RequestContext) -> Reply:
    documents = ctx.stores.documents
    doc = _visible(documents, ctx)
    items = webhooks.recent_attempts(documents, str(doc["subscription_id"]))
    return Reply({"items": items, "count": len(items)}, cache_control=caching.NO_STORE)


@bp.function_name(name=COLLECTION_ROUTE.function_name)
@bp.route(route=COLLECTION_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def webhooks_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, COLLECTION_ROUTE, _collection)


@bp.function_name(name=ITEM_ROUTE.function_name)
@bp.route(route=ITEM_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def webhook_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ITEM_ROUTE, _item)


@bp.function_name(name=DELIVERIES_ROUTE.function_name)
@bp.route(route=DELIVERIES_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def webhook_deliveries_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, DELIVERIES_ROUTE, _deliveries)
