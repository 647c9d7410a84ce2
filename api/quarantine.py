"""GET /v1/admin/quarantine: the region-days the materialization set aside for rows it cannot aggregate.

Operator role. The record is written by the commit of each run (domain.quarantine); an absent record
means nothing was ever quarantined, shown as an empty list.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.deps import stores
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond
from api.openapi import Operation
from domain.ports import SYSTEM_PARTITION, DocumentStore
from domain.quarantine import QUARANTINE_DOC_ID

bp = df.Blueprint()

ROUTE = Route("quarantine", "/v1/admin/quarantine", {"GET": Role.operator})
OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "getQuarantine",
        "Region-days set aside by the materialization for Gold rows it cannot aggregate",
        ok_model=schemas.QuarantineReport,
    ),
)
_FIELDS = ("region_code", "date", "unknown_region", "unknown_sources", "first_seen", "last_seen", "instance_id")


def quarantine_report(documents: DocumentStore) -> dict[str, Any]:
    """The quarantine record as the API shows it: no store fields, every day with the same keys."""
    record = documents.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID) or {}
    days = [{k: d.get(k) for k in _FIELDS} for d in record.get("days", []) if isinstance(d, dict)]
    return {
        "updated_at": record.get("updated_at"),
        "count": len(days),
        "unknown_regions": list(record.get("unknown_regions", [])),
        "unknown_sources": list(record.get("unknown_sources", [])),
        "days": days,
    }


def _handle(ctx: RequestContext) -> Reply:
    return Reply(quarantine_report(stores().documents), cache_control=caching.NO_STORE)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def quarantine_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
