"""GET /v1/changes: the region-days and region-months whose content changed, in commit order (domain.change_feed).

A mirroring client starts without `since`, follows `next` while it is not null, keeps `cursor` and asks again
later with `since=<cursor>`; for each item it fetches the document at `href`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from api import caching
from api.auth import Role
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, base_url, respond
from api.openapi import Operation
from api.params import parse
from domain import change_feed
from stores.ports import DocumentStore

bp = df.Blueprint()

ROUTE = Route("list_changes", "/v1/changes", {"GET": Role.reader})
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_DAY_PATH = "/v1/production/regional/{region}/{date}"
_RANGE_PATH = "/v1/production/regional"


class ChangesQuery(BaseModel):
    """GET /v1/changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    since: str | None = Field(
        default=None,
        pattern=change_feed.CURSOR_PATTERN,
        description="A cursor this feed handed out (`cursor`, or inside `next`); from the first change when omitted",
        # Refused when empty (400), not read as left out: an empty cursor must not restart a mirror's feed.
        json_schema_extra={"x-empty-value-refused": True},
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")


class ChangeItem(BaseModel):
    """One document whose content changed: fetch `href` for its current content."""

    region: str = Field(examples=["11"])
    kind: Literal["day", "month"]
    date: dt.date | None = Field(default=None, description="The local day (kind day)")
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (kind month)")
    content_hash: str
    nature: str | None = Field(description="éCO2mix data nature of the day's rows; null for a month (mixed)")
    final: bool = Field(description="Definitive data: will not change again")
    loaded_at: dt.datetime | None = Field(description="Newest Gold load (loaded_at, UTC) of the document's rows")
    materialized_at: dt.datetime = Field(description="When the materialization announced the change (UTC)")
    href: str = Field(description="Where the document is served (the day, or the month's days at granularity=day)")


class ChangesPage(BaseModel):
    items: list[ChangeItem]
    count: int
    cursor: str = Field(description="Where this page ends: pass it as `since` to resume, now or later")
    next: str | None = Field(description="The next page after a full page; null when this page caught up")


OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "listChanges",
        "Region-days and region-months whose content changed, in commit order (a feed to mirror the data)",
        query=ChangesQuery,
        ok_model=ChangesPage,
        errors=(400,),
        conditional=True,
    ),
)


def _href(root: str, entry: dict[str, Any]) -> str:
    region, key = entry["region"], entry["key"]
    if entry["kind"] == "day":
        return root + _DAY_PATH.format(region=region, date=key)
    last = calendar.monthrange(int(key[:4]), int(key[5:7]))[1]
    query = {"region_code": region, "start_date": f"{key}-01", "end_date": f"{key}-{last:02d}", "granularity": "day"}
    return f"{root}{_RANGE_PATH}?{urlencode(query)}"


def _item(root: str, entry: dict[str, Any]) -> dict[str, Any]:
    item = {
        "region": entry["region"],
        "kind": entry["kind"],
        "date" if entry["kind"] == "day" else "month": entry["key"],
    }
    item |= {k: entry.get(k) for k in ("content_hash", "nature", "final", "loaded_at", "materialized_at")}
    return item | {"href": _href(root, entry)}


def changes_page(documents: DocumentStore, query: ChangesQuery, root: str) -> dict[str, Any]:
    """One page of the feed from `query.since`; 400 for a cursor the feed did not hand out."""
    try:
        since = change_feed.decode_cursor(query.since) if query.since is not None else change_feed.START
    except change_feed.InvalidCursor:
        raise ApiError(
            400,
            "`since` must be a cursor returned by this feed (its `cursor` field or its `next` link).",
            errors=[ParameterError("since", "not a cursor of this feed")],
        ) from None
    read = change_feed.read_changes(documents, since, query.limit)
    cursor = change_feed.encode_cursor(read.next)
    # A full page links to the next one even when nothing follows yet: then its content, `next` included, is
    # final (feed pages are never rewritten), and the next page answers when the changes arrive.
    full = len(read.entries) == query.limit
    next_url = f"{root}{ROUTE.path}?{urlencode({'since': cursor, 'limit': query.limit})}" if full else None
    items = [_item(root, e) for e in read.entries]
    return {"items": items, "count": len(items), "cursor": cursor, "next": next_url}


def _handle(ctx: RequestContext) -> Reply:
    params = dict(ctx.req.params)
    # `parse` takes an empty value as absent (and hosts may drop it from `params`): here it would restart the feed.
    raw = parse_qs(urlsplit(ctx.req.url).query, keep_blank_values=True)
    if params.get("since") == "" or "" in raw.get("since", []):
        raise ApiError(400, "`since` is empty.", errors=[ParameterError("since", "not a cursor of this feed")])
    query = parse(ChangesQuery, params)
    body = changes_page(ctx.stores.documents, query, base_url(ctx.req))
    # A full page never changes; a short one grows as changes arrive.
    full = body["next"] is not None
    tag = caching.combined_etag([i["content_hash"] for i in body["items"]], body["cursor"] + str(query.since))
    return Reply(body, etag=tag, cache_control=caching.IMMUTABLE if full else caching.NO_STORE)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def list_changes(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
