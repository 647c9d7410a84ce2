"""GET /v1/export/csv and /v1/export/parquet: 302 to a short-lived, read-only link to one export file.

A region's day and month CSV are the materialization's own files; every other file (a year, all regions,
Parquet) is built from the materialized documents on first request and kept per version (domain.bulk_export),
so the answer is always a redirect and never the file itself.

Under load: identical requests for a file being built wait for that one build (domain.bulk_export.BuildGate, one
per process), on the event loop rather than on a thread; at most EXPORT_MAX_CONCURRENT_BUILDS builds run at a time
and a wait lasts at most EXPORT_BUILD_WAIT_SECONDS: beyond either, 503 + Retry-After. Six identical requests for an
unbuilt year used to build it six times at once (2.6x the CPU of one build, 1.5 GiB kept). A build takes
EXPORT_BUILD_RATE_COST tokens of the caller's rate limit; a redirect to a built file, or a wait, one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

import azure.durable_functions as df
import azure.functions as func
from pydantic import TypeAdapter

from api import caching
from api.auth import Role
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, charge_more, respond_async
from api.openapi import Operation, content
from api.params import ExportQuery, ParquetExportQuery, parse, require_region
from core.settings import Settings
from domain.bulk_export import (
    BuildGate,
    BuildInFlight,
    BuildsBusy,
    BulkExports,
    ExportSpec,
    Format,
    materialized_header,
)
from domain.naming import download_name
from domain.ports import FileReads
from stores.ports import DocumentStore, FileStore

bp = df.Blueprint()

ROUTE = Route("export_csv", "/v1/export/csv", {"GET": Role.reader})
PARQUET_ROUTE = Route("export_parquet", "/v1/export/parquet", {"GET": Role.reader})
_PERIODS = "Give exactly one of date=YYYY-MM-DD, month=YYYY-MM and year=YYYY."
_WHAT = (
    " region_code names one region; without it the file holds every region. A region's day and month CSV are"
    " written by the materialization; other files are built on the first request (which may take seconds for a"
    " year of every region) and then kept. CSV: day files have one row per half-hour, month and year files one"
    " row per day. Parquet: one row per half-hour. Identical requests share one build; when this instance builds"
    " too many files already, or a build lasts too long, the answer is 503 with Retry-After. A build counts"
    " more against the caller's rate limit than a redirect to a file already built."
)
# redirect=false: the link itself, for clients that must not send their credentials to the storage origin.
_LINK_RESPONSE = content(
    "With redirect=false: the signed link, to fetch without X-API-Key or Authorization (it is its own credential)",
    application_json={
        "type": "object",
        "required": ["url", "expires_at"],
        "properties": {
            "url": {"type": "string", "format": "uri", "description": "The signed link to the file"},
            "expires_at": {"type": "string", "format": "date-time", "description": "When the link stops working"},
        },
    },
)
OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "exportCsv",
        "Redirect to a short-lived link to one export file (CSV unless format=parquet)." + _WHAT,
        query=ExportQuery,
        ok_status=302,
        errors=(400, 404, 503),
        extra_responses={"200": _LINK_RESPONSE},
    ),
    Operation(
        PARQUET_ROUTE,
        "GET",
        "exportParquet",
        "Redirect to a short-lived link to one Parquet file (same parameters; format may only be parquet)." + _WHAT,
        query=ParquetExportQuery,
        ok_status=302,
        errors=(400, 404, 503),
        extra_responses={"200": _LINK_RESPONSE},
    ),
)


def export_spec(query: ExportQuery, route_format: Format | None = None) -> ExportSpec:
    """The one file the query names; 400 unless exactly one period is given and the format fits the route."""
    require_region(query.region_code)
    periods = {
        "date": query.date.isoformat() if query.date is not None else None,
        "month": query.month,
        "year": query.year,
    }
    given = [value for value in periods.values() if value is not None]
    if len(given) != 1:
        message = "give exactly one of date, month and year"
        raise ApiError(400, _PERIODS, errors=[ParameterError(p, message) for p in periods], slug="invalid-parameters")
    if route_format is not None and query.format not in (None, route_format):
        raise ApiError(
            400,
            f"This route serves {route_format} files only; use /v1/export/{query.format} for {query.format}.",
            errors=[ParameterError("format", f"must be {route_format} on this route")],
            slug="invalid-parameters",
        )
    return ExportSpec(query.format or route_format or "csv", given[0], query.region_code)


# One per process: the requests of its threads and of its event loop share it.
GATE = BuildGate()


def _exports(ctx: RequestContext, documents: DocumentStore, files: FileStore) -> BulkExports:
    """Through the gate; a build first takes its extra cost from the caller's bucket (one token is taken already)."""
    settings = ctx.settings
    charge = partial(charge_more, ctx, settings.EXPORT_BUILD_RATE_COST - 1)
    return BulkExports(documents, files, GATE, settings.EXPORT_MAX_CONCURRENT_BUILDS, charge)


def _unavailable(settings: Settings, detail: str) -> ApiError:
    retry_after = settings.EXPORT_RETRY_AFTER_SECONDS
    headers = {"Retry-After": str(retry_after)}
    return ApiError(503, f"{detail}; retry after {retry_after} s.", headers=headers, slug="export-building")


def _busy(settings: Settings) -> ApiError:
    return _unavailable(settings, "This instance is building as many export files as it may at once")


def _still_building(settings: Settings, spec: ExportSpec) -> ApiError:
    waited = settings.EXPORT_BUILD_WAIT_SECONDS
    return _unavailable(settings, f"The export file {spec.download_name} is still being built after {waited:g} s")


async def _reply(files: FileReads, spec: ExportSpec, name: str | None, ttl_seconds: int, as_json: bool) -> Reply:
    if name is None:
        raise ApiError(404, f"No data for the export file {spec.download_name}.", slug="no-data")
    url = await files.signed_url(name, ttl_seconds, download_name(name))
    if as_json:
        return _link_reply(url, ttl_seconds)
    # The link expires: neither the redirect nor its target may be cached past that.
    return Reply(None, status=302, headers={"Location": url}, cache_control=caching.NO_STORE)


def _spec_of(req: func.HttpRequest, route_format: Format | None) -> ExportSpec:
    model = ParquetExportQuery if route_format == "parquet" else ExportQuery
    return export_spec(parse(model, dict(req.params)), route_format)


async def _materialized(ctx: RequestContext, spec: ExportSpec, name: str) -> str | None:
    """A region's day or month CSV as the materialization wrote it: its header read on the loop (one ranged GET);
    a file of an older rendering is rendered again from its document on a thread (rare)."""
    header = materialized_header(spec)
    head = await ctx.stores.file_reads.read_head(name, len(header))
    if head is None:
        return None
    if head == header:
        return name
    return await asyncio.to_thread(BulkExports(ctx.stores.documents, ctx.stores.files).file_for, spec)


async def _built(ctx: RequestContext, spec: ExportSpec) -> str | None:
    """A file that may be built: found or built on a thread (seconds of CPU off the event loop), while a request
    for a file another one is building waits for it on the loop, holding no thread (the loop's default pool has
    min(32, cores + 4) threads: six waiters would take them all)."""
    current, settings = ctx.stores, ctx.settings
    try:
        return await asyncio.to_thread(_exports(ctx, current.documents, current.files).file_for, spec)
    except BuildInFlight as flight:
        waiting = asyncio.wrap_future(flight.future)
        try:  # shielded: a waiter that gives up leaves the build and the other waiters be
            return await asyncio.wait_for(asyncio.shield(waiting), settings.EXPORT_BUILD_WAIT_SECONDS)
        except TimeoutError:
            raise _still_building(settings, spec) from None
    except BuildsBusy:
        raise _busy(settings) from None


async def _redirect(ctx: RequestContext, route_format: Format | None) -> Reply:
    """The query parsed once (inside the envelope: its 400 comes after the key check), the file found (or built),
    the link signed."""
    spec = _spec_of(ctx.req, route_format)
    materialized = spec.materialized_name()
    name = await (_materialized(ctx, spec, materialized) if materialized is not None else _built(ctx, spec))
    files, settings = ctx.stores.file_reads, ctx.settings
    return await _reply(files, spec, name, settings.DOWNLOAD_TTL_SECONDS, _link_as_json(ctx.req))


_BOOL = TypeAdapter(bool)


def _link_as_json(req: func.HttpRequest) -> bool:
    """`redirect=false`, read as the query model reads it (which has already refused any other value)."""
    value = req.params.get("redirect")
    return value is not None and not _BOOL.validate_python(value)


def _link_reply(url: str, ttl_seconds: int) -> Reply:
    """The signed link as JSON: a browser follows a 302 with the request's headers, X-API-Key included, and the
    storage origin's CORS rule refuses that header; with the link in hand it fetches the file without it."""
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl_seconds)
    body = {"url": url, "expires_at": expires.isoformat().replace("+00:00", "Z")}
    return Reply(body, cache_control=caching.NO_STORE)


_handle = partial(_redirect, route_format=None)
_handle_parquet = partial(_redirect, route_format="parquet")


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def export_csv(req: func.HttpRequest) -> func.HttpResponse:
    return await respond_async(req, ROUTE, _handle)


@bp.function_name(name=PARQUET_ROUTE.function_name)
@bp.route(route=PARQUET_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def export_parquet(req: func.HttpRequest) -> func.HttpResponse:
    return await respond_async(req, PARQUET_ROUTE, _handle_parquet)
