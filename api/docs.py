"""GET /v1/openapi.json, GET /v1/docs and its assets: Swagger UI over the OpenAPI document, served locally.

Swagger UI comes from the pinned `swagger-ui-py` PyPI package (its static folder); "Try it out" sends the
X-API-Key header once the key is entered under "Authorize" (the document's `ApiKey` scheme).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, WithJsonSchema

from api import caching
from api.assets import (
    CSS,
    HTML,
    JS,
    PAGE_SECURITY_HEADERS,
    Asset,
    asset_reply,
    content_security_policy,
    page_reply,
)
from api.http import ALL_METHODS, Reply, RequestContext, Route, dumps, respond
from api.openapi import STRING, Operation, WebhookEvent, build_document, content

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


class AssetPath(BaseModel):
    """GET /v1/docs/assets/{asset}."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    asset: Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(ASSETS)})]


OPERATIONS = (
    Operation(
        OPENAPI_ROUTE,
        "GET",
        "getOpenApi",
        "This OpenAPI document",
        conditional=True,  # the document carries an ETag: If-None-Match gives 304
        extra_responses={"200": content("OpenAPI 3.1 document", application_json={"type": "object"})},
    ),
    Operation(
        DOCS_ROUTE,
        "GET",
        "getDocs",
        "HTML documentation rendering the OpenAPI document",
        extra_responses={"200": content("HTML page", text_html=STRING)},
    ),
    Operation(
        ASSET_ROUTE,
        "GET",
        "getDocsAsset",
        "Static asset of the documentation page",
        path=AssetPath,
        errors=(404,),
        conditional=True,  # the asset carries an ETag: If-None-Match gives 304
        extra_responses={"200": content("Asset", text_javascript=STRING, text_css=STRING)},
    ),
)
CONTENT_SECURITY_POLICY = content_security_policy()


class _Published:
    """The operations the composition root publishes. The document, its JSON and ETag are made once per worker
    at the first read, the gzip form at the first read that accepts it (per request, the ~66 KB document cost
    ~0.1 ms to serialize and ~0.35 ms more to compress)."""

    operations: tuple[Operation, ...] = ()
    events: tuple[WebhookEvent, ...] = ()
    document: dict[str, Any] | None = None
    answer: tuple[bytes, str] | None = None  # the document's JSON and its ETag, set together
    gzip: bytes | None = None


def publish(operations: Iterable[Operation], events: Iterable[WebhookEvent] = ()) -> None:
    """Serve the document of these operations (function_app.py passes every route module's `OPERATIONS`) and
    webhooks."""
    _Published.operations, _Published.events = tuple(operations), tuple(events)
    _Published.document, _Published.answer, _Published.gzip = None, None, None


def published_document() -> dict[str, Any]:
    if _Published.document is None:
        _Published.document = build_document(_Published.operations, _Published.events)
    return _Published.document


def _answer() -> tuple[bytes, str]:
    answer = _Published.answer
    if answer is None:
        body = dumps(published_document())
        answer = _Published.answer = (body, caching.bytes_etag(body))
    return answer


def _published_gzip() -> bytes:
    if _Published.gzip is None:
        _Published.gzip = caching.gzip_bytes(_answer()[0], caching.KEPT_GZIP_LEVEL)
    return _Published.gzip


def _openapi(ctx: RequestContext) -> Reply:
    body, tag = _answer()
    return Reply(body, etag=tag, cache_control=caching.SHORT, gzip_make=_published_gzip)


def _page(ctx: RequestContext) -> Reply:
    return page_reply(PAGE, {"Content-Security-Policy": CONTENT_SECURITY_POLICY, **PAGE_SECURITY_HEADERS})


def _asset(ctx: RequestContext) -> Reply:
    return asset_reply(ASSETS, ctx.req.route_params.get("asset", ""))


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
