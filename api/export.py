"""GET /v1/export/csv: 302 to a short-lived, read-only link to one materialized CSV file."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import caching
from api.auth import Role
from api.deps import stores
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, respond
from api.openapi import Operation
from api.params import ExportQuery, parse, require_region
from domain.naming import day_file_name, download_name, month_file_name
from stores.ports import FileStore

bp = df.Blueprint()

ROUTE = Route("export_csv", "/v1/export/csv", {"GET": Role.reader})
OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "exportCsv",
        "Redirect to a short-lived link to one CSV file",
        query=ExportQuery,
        ok_status=302,
        errors=(400, 404),
    ),
)


def export_file_name(query: ExportQuery) -> str:
    """The one file the query names; 400 unless exactly one of date and month is given."""
    require_region(query.region_code)
    if (query.date is None) == (query.month is None):
        message = "give exactly one of date and month"
        raise ApiError(
            400,
            "Give exactly one of date=YYYY-MM-DD and month=YYYY-MM.",
            errors=[ParameterError("date", message), ParameterError("month", message)],
            slug="invalid-parameters",
        )
    if query.date is not None:
        return day_file_name(query.region_code, query.date.isoformat())
    assert query.month is not None
    return month_file_name(query.region_code, query.month)


def export_link(files: FileStore, name: str, ttl_seconds: int) -> str:
    """A signed link to `name`; 404 when the file was never materialized."""
    if not files.exists(name):
        raise ApiError(404, f"No export file {download_name(name)} has been materialized.", slug="no-data")
    return files.signed_url(name, ttl_seconds, download_name(name))


def _handle(ctx: RequestContext) -> Reply:
    query = parse(ExportQuery, dict(ctx.req.params))
    url = export_link(stores().files, export_file_name(query), ctx.settings.DOWNLOAD_TTL_SECONDS)
    # The link expires: neither the redirect nor its target may be cached past that.
    return Reply(None, status=302, headers={"Location": url}, cache_control=caching.NO_STORE)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def export_csv(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
