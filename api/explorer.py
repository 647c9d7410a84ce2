"""GET /explorer and its assets: charts of the public /v1 API in the browser (an example client).

The page reads only /v1 routes with the reader key the user types (kept in sessionStorage). The charting
library is plotly.js from the pinned `plotly` PyPI package, served from here under a strict
Content-Security-Policy set on the page's response.
"""

from __future__ import annotations

import re
from typing import Annotated

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, WithJsonSchema

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
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond
from api.openapi import STRING, Operation, content
from core.settings import Settings

bp = df.Blueprint()

PAGE_ROUTE = Route("explorer_page", "/explorer", {"GET": None})
ASSET_ROUTE = Route("explorer_asset", "/explorer/assets/{asset}", {"GET": None})

PAGE = Asset("api.static", "explorer.html", HTML)
ASSETS: dict[str, Asset] = {
    "explorer.js": Asset("api.static", "explorer.js", JS),
    "explorer.css": Asset("api.static", "explorer.css", CSS),
    "plotly.min.js": Asset("plotly", "package_data/plotly.min.js", JS),
}


class ExplorerAssetPath(BaseModel):
    """GET /explorer/assets/{asset}."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    asset: Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(ASSETS)})]


OPERATIONS = (
    Operation(
        PAGE_ROUTE,
        "GET",
        "getExplorer",
        "Explorer page: charts of the mix, consumption and carbon intensity (reads only this /v1 API)",
        extra_responses={"200": content("HTML page", text_html=STRING)},
    ),
    Operation(
        ASSET_ROUTE,
        "GET",
        "getExplorerAsset",
        "Static asset of the explorer page (its script, stylesheet and charting library)",
        path=ExplorerAssetPath,
        errors=(404,),
        conditional=True,  # the asset carries an ETag: If-None-Match gives 304
        extra_responses={"200": content("Asset", text_javascript=STRING, text_css=STRING)},
    ),
)

# plotly.js adds two <style> elements when it loads: an empty one that it fills through the CSSOM (allowed
# under CSP), and maplibre's fixed stylesheet (plotly.js 4.1.1). Only these two exact texts are allowed;
# the browser tests fail on any CSP console error, so a plotly upgrade that changes them is caught.
_EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
_PLOTLY_MAPLIBRE_STYLE = "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='"


def download_origins(settings: Settings) -> tuple[str, ...]:
    """Where /v1/export redirects (the page fetches the file there): Blob Storage, else devhost's own links."""
    if settings.BLOB_ACCOUNT_URL:
        urls = [settings.BLOB_ACCOUNT_URL]
    elif settings.BLOB_CONNECTION_STRING:
        parts = dict(p.split("=", 1) for p in settings.BLOB_CONNECTION_STRING.split(";") if "=" in p)
        urls = [parts.get("BlobEndpoint", "")]
    else:
        urls = [settings.PUBLIC_BASE_URL]
    origins = [m.group(0) for url in urls if (m := re.match(r"https?://[A-Za-z0-9.:\[\]-]+", url.strip()))]
    return tuple(origins)


def page_policy(settings: Settings) -> str:
    return content_security_policy(
        style_hashes=(_EMPTY_STYLE, _PLOTLY_MAPLIBRE_STYLE), connect=download_origins(settings)
    )


def _page(ctx: RequestContext) -> Reply:
    return page_reply(PAGE, {"Content-Security-Policy": page_policy(ctx.settings), **PAGE_SECURITY_HEADERS})


def _asset(ctx: RequestContext) -> Reply:
    return asset_reply(ASSETS, ctx.req.route_params.get("asset", ""))


@bp.function_name(name=PAGE_ROUTE.function_name)
@bp.route(route=PAGE_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def explorer_page(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, PAGE_ROUTE, _page)


@bp.function_name(name=ASSET_ROUTE.function_name)
@bp.route(route=ASSET_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def explorer_asset(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ASSET_ROUTE, _asset)
