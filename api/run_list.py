"""GET /v1/admin/backfills: recent runs (backfills and the scheduled incremental run), filtered and paged.

The Python SDK's `get_status_by` returns only the first page of the extension's list query and drops the
continuation token, so the listing calls the extension's HTTP API itself (its local RPC endpoint, the one the
SDK calls): `GET {rpcBaseUrl}instances/?...&top=N`, continuation in the `x-ms-continuation-token` header both
ways. Our own continuation is that token, base64url-encoded: opaque to callers, and a page may hold fewer
items than `limit` (even none) while more remain, as the extension's pages do.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlencode

import aiohttp
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from api.durable_sdk import rpc_base_url
from api.http import ApiError, ParameterError
from api.run_status import iso, run_kind, status_body
from orchestrations.names import BACKFILL_INSTANCE_PREFIX, INCREMENTAL_INSTANCE_ID, ORCHESTRATOR

CONTINUATION_HEADER = "x-ms-continuation-token"
RUNTIME_STATUSES = (
    "Pending",
    "Running",
    "Completed",
    "Failed",
    "Terminated",
    "ContinuedAsNew",
    "Suspended",
    "Canceled",
)
DEFAULT_RUN_LIMIT = 50
MAX_RUN_LIMIT = 100  # the extension's default page size
MAX_CONTINUATION_CHARS = 4096
_STATUS_LIST = rf"^({'|'.join(RUNTIME_STATUSES)})(,({'|'.join(RUNTIME_STATUSES)}))*$"
_DURABLE_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # the SDK's createdTimeFrom format


def _aware_datetime(value: Any) -> Any:
    """An ISO 8601 timestamp with its offset (pydantic alone would also take Unix seconds and naive times)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 timestamp, e.g. 2024-06-01T00:00:00Z") from None
    else:
        raise ValueError("must be an ISO 8601 timestamp")
    if parsed.tzinfo is None:
        raise ValueError("must carry its offset (Z or ±hh:mm)")
    return parsed


def _status_list(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(_STATUS_LIST, value):
        raise ValueError(f"must be one or more of {', '.join(RUNTIME_STATUSES)}, comma-separated")
    return tuple(dict.fromkeys(value.split(",")))


AwareTimestamp = Annotated[
    datetime,
    BeforeValidator(_aware_datetime),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2024-06-01T00:00:00Z"}),
]
StatusList = Annotated[
    tuple[str, ...],
    BeforeValidator(_status_list),
    WithJsonSchema({"type": "string", "pattern": _STATUS_LIST, "example": "Running,Pending"}),
]


class RunListQuery(BaseModel):
    """GET /v1/admin/backfills."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    status: StatusList | None = Field(default=None, description="Runtime statuses to keep, comma-separated")
    kind: Literal["backfill", "incremental"] | None = Field(
        default=None, description="Only backfills, or only the timer's run"
    )
    created_from: AwareTimestamp | None = Field(default=None, description="Created at or after")
    created_to: AwareTimestamp | None = Field(default=None, description="Created at or before")
    limit: int = Field(DEFAULT_RUN_LIMIT, ge=1, le=MAX_RUN_LIMIT, description="At most this many runs per page")
    continuation: str | None = Field(
        default=None,
        max_length=MAX_CONTINUATION_CHARS,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque: the `continuation` of the previous page (its `next` link carries it)",
    )


@dataclass(frozen=True)
class InstanceQuery:
    """The extension's list-instances condition."""

    created_from: datetime | None
    created_to: datetime | None
    statuses: tuple[str, ...]
    prefix: str | None
    top: int


@dataclass(frozen=True)
class InstancePage:
    statuses: list[dict[str, Any]]  # the extension's status JSON, one per instance
    continuation: str | None  # None: the last page


class ListingRefused(Exception):
    """The extension answered the list query with another status than 200."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"list-instances answered HTTP {status}: {body[:200]}")
        self.status = status


class InstanceLister(Protocol):
    async def list_instances(self, query: InstanceQuery, continuation: str | None) -> InstancePage: ...


class DurableHttpLister:
    """The extension's list-instances query over its HTTP API (rpcBaseUrl), with the continuation header."""

    def __init__(self, rpc_base_url: str, timeout_seconds: float = 30.0) -> None:
        self.url = rpc_base_url.rstrip("/") + "/instances/"
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    @staticmethod
    def parameters(query: InstanceQuery) -> dict[str, str]:
        params = {"top": str(query.top), "showInput": "true"}
        if query.created_from is not None:
            params["createdTimeFrom"] = query.created_from.astimezone(UTC).strftime(_DURABLE_TIME)
        if query.created_to is not None:
            params["createdTimeTo"] = query.created_to.astimezone(UTC).strftime(_DURABLE_TIME)
        if query.statuses:
            params["runtimeStatus"] = ",".join(query.statuses)
        if query.prefix:
            params["instanceIdPrefix"] = query.prefix
        return params

    async def list_instances(self, query: InstanceQuery, continuation: str | None) -> InstancePage:
        headers = {CONTINUATION_HEADER: continuation} if continuation else {}
        # An operator route, called rarely: a session per call keeps no state between invocations.
        async with (
            aiohttp.ClientSession(timeout=self.timeout) as session,
            session.get(self.url, params=self.parameters(query), headers=headers) as resp,
        ):
            if resp.status != 200:
                raise ListingRefused(resp.status, await resp.text())
            body = await resp.json(content_type=None)
            token = resp.headers.get(CONTINUATION_HEADER) or None
        # The last page's token is absent or empty; old Azure Storage providers sent the text "null".
        return InstancePage(list(body or []), None if token in (None, "null") else token)


def lister_for(client: Any) -> DurableHttpLister:
    """The lister on the same endpoint as the SDK client of this invocation (its binding's rpcBaseUrl)."""
    return DurableHttpLister(rpc_base_url(client))


def _encode(token: str | None) -> str | None:
    return None if token is None else base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _decode(continuation: str | None) -> str | None:
    if continuation is None:
        return None
    try:
        token = base64.urlsafe_b64decode(continuation + "=" * (-len(continuation) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad_continuation() from None
    if not token.isprintable():  # it travels in a header: the store's tokens are printable ASCII
        raise _bad_continuation()
    return token


def _bad_continuation() -> ApiError:
    return ApiError(
        400,
        "The continuation is not one this listing gave (or it expired): list again from the first page.",
        errors=[ParameterError("continuation", "not a continuation of this listing")],
        slug="invalid-parameters",
    )


def instance_query(query: RunListQuery) -> InstanceQuery:
    prefix = {"backfill": BACKFILL_INSTANCE_PREFIX, "incremental": INCREMENTAL_INSTANCE_ID, None: None}[query.kind]
    return InstanceQuery(query.created_from, query.created_to, query.status or (), prefix, query.limit)


async def list_runs(
    lister: InstanceLister,
    query: RunListQuery,
    links_for: Callable[[str], dict[str, str]],
    list_url: str,
) -> dict[str, Any]:
    """One page of runs, newest first within the page, with the link to the next page (None on the last)."""
    durable_query = instance_query(query)
    try:
        page = await lister.list_instances(durable_query, _decode(query.continuation))
    except ListingRefused:
        if query.continuation is not None:  # the store refused the token we were handed
            raise _bad_continuation() from None
        raise
    items = []
    for raw in page.statuses:
        status = DurableOrchestrationStatus.from_json(raw)
        instance_id = str(status.instance_id or "")
        # Only our orchestrator's runs (a prefix filter or a stray instance may bring others).
        kind = run_kind(instance_id)
        if status.name == ORCHESTRATOR and kind is not None and query.kind in (None, kind):
            items.append(status_body(instance_id, status, links_for(instance_id)))
    items.sort(key=lambda item: (item["created_time"] or "", item["id"]), reverse=True)
    continuation = _encode(page.continuation)
    return {
        "items": items,
        "created_from": iso(durable_query.created_from),
        "continuation": continuation,
        "next": None if continuation is None else _next_link(list_url, query, continuation),
    }


def _next_link(list_url: str, query: RunListQuery, continuation: str) -> str:
    """The same query with the continuation."""
    params: dict[str, Any] = query.model_dump(exclude_none=True, exclude={"continuation"})
    fields = {
        k: ",".join(v) if isinstance(v, tuple) else iso(v) if isinstance(v, datetime) else v for k, v in params.items()
    }
    return f"{list_url}?{urlencode({**fields, 'continuation': continuation})}"
