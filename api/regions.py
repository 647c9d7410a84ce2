"""GET /v1/regions: the 12 regions and FR (France, their sum) with their first/last materialized day (the catalog
document)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond
from api.openapi import Operation
from domain.naming import CATALOG_DOC_ID
from domain.regions import AREAS
from stores.ports import SYSTEM_PARTITION, DocumentStore

bp = df.Blueprint()

ROUTE = Route("list_regions", "/v1/regions", {"GET": Role.reader})
OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "listRegions",
        "The 12 regions and FR (France as a whole), with their materialized days",
        ok_model=schemas.RegionList,
        conditional=True,
    ),
)


def list_regions(documents: DocumentStore) -> dict[str, Any]:
    """Every region, in INSEE order, then FR; days are null for a region with nothing materialized yet."""
    catalog = documents.get(SYSTEM_PARTITION, CATALOG_DOC_ID) or {}
    spans = {r.get("code"): r for r in catalog.get("regions", []) if isinstance(r, dict)}
    items = [
        {
            "code": r.code,
            "name": r.name,
            "has_nuclear": r.has_nuclear,
            "first_day": spans.get(r.code, {}).get("first_day"),
            "last_day": spans.get(r.code, {}).get("last_day"),
        }
        for r in AREAS
    ]
    return {"items": items, "count": len(items)}


def _handle(ctx: RequestContext) -> Reply:
    body = list_regions(ctx.stores.documents)
    tag = caching.combined_etag([str(item) for item in body["items"]], "regions")
    return Reply(body, etag=tag, cache_control=caching.SHORT)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def list_regions_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
