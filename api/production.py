"""GET /v1/production/regional (range, paged) and GET /v1/production/regional/{region_code}/{date} (one day).

The route parses, asks the reader (api/reader.py: the read strategies and the rendered cache) and replies.
The triggers are async: with the embedded store a read runs on the event loop, with no thread-pool hop; with
Cosmos the read model runs on the loop too and awaits the aio client (no thread either).
"""

from __future__ import annotations

from collections.abc import Callable

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.deps import stores
from api.http import (
    ALL_METHODS,
    Placement,
    Reply,
    RequestContext,
    Route,
    base_url,
    placement_of,
    respond_placed,
)
from api.openapi import Operation
from api.params import DayPath, RangeQuery, parse, parse_day_path
from api.reader import ProductionReader

bp = df.Blueprint()

RANGE_ROUTE = Route("production_range", "/v1/production/regional", {"GET": Role.reader})
DAY_ROUTE = Route("production_day", "/v1/production/regional/{region_code}/{date}", {"GET": Role.reader})
OPERATIONS = (
    Operation(
        RANGE_ROUTE,
        "GET",
        "listProduction",
        "Production, consumption, sources and carbon intensity over a range (paged)",
        query=RangeQuery,
        ok_model=schemas.ProductionPage,
        errors=(400, 404),
        conditional=True,
    ),
    Operation(
        DAY_ROUTE,
        "GET",
        "getProductionDay",
        "One materialized day of one region (a point read)",
        path=DayPath,
        ok_model=schemas.DayResponse,
        errors=(400, 404),
        conditional=True,
    ),
)
# The worker's read model: strategies and the cache of rendered items (process-wide, bounded).
READER = ProductionReader()


def _documents_placement() -> Placement:
    """Where a read runs, after the documents store (`placement_of`): read once per store object (the last one
    seen), as its flags are fixed when it is built and this runs on every read."""
    global _last_placement
    try:
        documents = stores().documents
    except Exception:  # the handler meets the same failure inside the envelope (problem+json), on a thread
        return "thread"
    last_documents, placement = _last_placement
    if documents is not last_documents:
        placement = placement_of(documents)
        _last_placement = (documents, placement)
    return placement


_last_placement: tuple[object, Placement] = (None, "thread")


async def _respond(
    req: func.HttpRequest, route: Route, handler: Callable[[RequestContext], Reply]
) -> func.HttpResponse:
    """Embedded store: on the loop; a store with async clients (Cosmos aio): the read model on the loop, its
    store calls awaited (stores.bridge_aio); any other: on a thread."""
    return await respond_placed(req, route, handler, _documents_placement())


def _range(ctx: RequestContext) -> Reply:
    query = parse(RangeQuery, ctx.req.params)
    body, tag, gzip_make = READER.page(stores().documents, query, base_url(ctx.req) + RANGE_ROUTE.path)
    return Reply(body, etag=tag, cache_control=caching.SHORT, gzip_make=gzip_make)


def _day(ctx: RequestContext) -> Reply:
    region_code, day_text = parse_day_path(ctx.req.route_params)
    day = READER.day(stores().documents, region_code, day_text)
    return Reply(
        day.body,
        etag=caching.etag(day.content_hash or ""),
        cache_control=caching.cache_control(day.final),
        gzip_body=day.gzip,
    )


@bp.function_name(name=RANGE_ROUTE.function_name)
@bp.route(route=RANGE_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def production_range(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(req, RANGE_ROUTE, _range)


@bp.function_name(name=DAY_ROUTE.function_name)
@bp.route(route=DAY_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def production_day(req: func.HttpRequest) -> func.HttpResponse:
    return await _respond(req, DAY_ROUTE, _day)
