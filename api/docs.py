"""GET /v1/openapi.json, GET /v1/docs and its assets: Swagger UI over the OpenAPI document, served locally.

Swagger UI comes from the pinned `swagger-ui-py` PyPI package (its static folder); "Try it out" sends the
X-API-Key header once the key is entered under "Authorize" (the document's `ApiKey` scheme).
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api import caching
from api.assets import (
    CSS,
    HTML,
    JS,
    PAGE_SECURITY_HEADERS,
    Asset,
    asset_bytes,
    asset_etag,
    content_security_policy,
    lookup,
)
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond

bp = df.Blueprint()

OPENAPI_ROUTE = Route("openapi_json", "/v1/openapi.json", {"GET": None})
DOCS_ROUTE = Route("docs_page", "/v1/docs", {"GET": None})
ASSET_ROUTE = Route("docs_asset", "/v1/docs/assets/{asset}", {"GET": None})

PAGE = Asset("api.static", "docs.html", HTML)
# The only files served: a fixed table, so a path parameter can never name anything else.
ASSETS: dict[str, Asset] = {
    "docs.js": Asset("api.static", "docs.js", JS),
    "swagger-ui-bundle.js": Asset("swagger_ui", "static/swagger-ui-bundle.js", JS),
    "swagger-ui.css": Asset("swagger_ui", "static/swagger-ui.css", CSS),
}
CONTENT_SECURITY_POLICY = content_security_policy()


def _openapi(ctx: RequestContext) -> Reply:
    from api.openapi import openapi_document  # the document imports every route module, this one included

    return Reply(openapi_document(), cache_control=caching.SHORT)


def _page(ctx: RequestContext) -> Reply:
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, **PAGE_SECURITY_HEADERS}
    return Reply(asset_bytes(PAGE), content_type=PAGE.content_type, headers=headers, cache_control=caching.SHORT)


def _asset(ctx: RequestContext) -> Reply:
    asset = lookup(ASSETS, ctx.req.route_params.get("asset", ""))
    headers = {"X-Content-Type-Options": "nosniff"}
    return Reply(
        asset_bytes(asset),
        content_type=asset.content_type,
        headers=headers,
        etag=asset_etag(asset),
        cache_control=caching.SHORT,
    )


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
