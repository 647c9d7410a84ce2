"""GET /v1/openapi.json, GET /v1/docs and its assets: public documentation, served without any CDN."""

from __future__ import annotations

from importlib import resources

import azure.durable_functions as df
import azure.functions as func

from api import caching
from api.http import ALL_METHODS, ApiError, Reply, RequestContext, Route, respond

bp = df.Blueprint()

OPENAPI_ROUTE = Route("openapi_json", "/v1/openapi.json", {"GET": None})
DOCS_ROUTE = Route("docs_page", "/v1/docs", {"GET": None})
ASSET_ROUTE = Route("docs_asset", "/v1/docs/assets/{asset}", {"GET": None})
# The only files served: a fixed table, so a path parameter can never name anything else.
ASSETS: dict[str, str] = {"docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8"}


def asset_bytes(name: str) -> tuple[bytes, str]:
    if name not in ASSETS:
        raise ApiError(404, f"No documentation asset {name!r}.", slug="not-found")
    return resources.files("api.static").joinpath(name).read_bytes(), ASSETS[name]


def _openapi(ctx: RequestContext) -> Reply:
    from api.openapi import openapi_document  # the document imports every route module, this one included

    return Reply(openapi_document(), cache_control=caching.SHORT)


def _page(ctx: RequestContext) -> Reply:
    page = resources.files("api.static").joinpath("docs.html").read_bytes()
    return Reply(page, content_type="text/html; charset=utf-8", cache_control=caching.SHORT)


def _asset(ctx: RequestContext) -> Reply:
    data, content_type = asset_bytes(ctx.req.route_params.get("asset", ""))
    return Reply(data, content_type=content_type, cache_control=caching.SHORT)


@bp.function_name(name=OPENAPI_ROUTE.function_name)
@bp.route(route=OPENAPI_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def openapi_json(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, OPENAPI_ROUTE, _openapi)


@bp.function_name(name=DOCS_ROUTE.function_name)
@bp.route(route=DOCS_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def docs_page(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, DOCS_ROUTE, _page)


@bp.function_name(name=ASSET_ROUTE.function_name)
@bp.route(route=ASSET_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def docs_asset(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ASSET_ROUTE, _asset)
