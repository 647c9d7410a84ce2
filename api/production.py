"""GET /v1/production/regional (range, paged) and GET /v1/production/regional/{region_code}/{date} (one day).

The route parses, asks the reader (api/reader.py: the read strategies and the rendered cache) and replies. The
triggers are async: the reader awaits the documents' reads port on the event loop (the aio Cosmos client, or the
embedded store, which answers at once), with no thread-pool hop.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.http import ALL_METHODS, Reply, RequestContext, Route, base_url, respond_async
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


async def _range(ctx: RequestContext) -> Reply:
    query = parse(RangeQuery, ctx.req.params)
    body, tag, gzip_make = await READER.page(ctx.stores.document_reads, query, base_url(ctx.req) + RANGE_ROUTE.path)
    return Reply(body, etag=tag, cache_control=caching.SHORT, gzip_make=gzip_make)


async def _day(ctx: RequestContext) -> Reply:
    region_code, day_text = parse_day_path(ctx.req.route_params)
    day = await READER.day(ctx.stores.document_reads, region_code, day_text)
    return Reply(
        day.body,
        etag=caching.etag(day.content_hash or ""),
        cache_control=caching.cache_control(day.final),
        gzip_body=day.gzip,
    )


@bp.function_name(name=RANGE_ROUTE.function_name)
@bp.route(route=RANGE_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def production_range(req: func.HttpRequest) -> func.HttpResponse:
    return await respond_async(req, RANGE_ROUTE, _range)


@bp.function_name(name=DAY_ROUTE.function_name)
@bp.route(route=DAY_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def production_day(req: func.HttpRequest) -> func.HttpResponse:
    return await respond_async(req, DAY_ROUTE, _day)
