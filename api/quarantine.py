"""GET /v1/admin/quarantine: the region-days the materialization set aside (rows it cannot aggregate, or a
batch that failed), with each region-month's failures, error and next retry.

Operator role. One record per region-month (domain.quarantine), written by the commit of each run and read
here by one single-partition range query of the system partition; no record (or only cleared ones) means
nothing is quarantined, shown as empty lists. Not paged: a record holds at most 31 days, and a region-month
is quarantined only while it fails.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond
from api.openapi import Operation
from domain.ports import SYSTEM_PARTITION, DocumentStore
from domain.quarantine import KEY_FIRST, KEY_LAST, QUARANTINE_DOC_TYPE, is_active

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
_DAY_FIELDS = ("date", "unknown_region", "unknown_sources", "failed", "first_seen", "last_seen", "instance_id")


def _month(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "region_code": record.get("region"),
        "month": record.get("month"),
        "days": len(record.get("days", [])),
        "failures": int(record.get("failures", 0)),
        "set_aside": bool(record.get("set_aside")),
        "next_retry_at": record.get("next_retry_at"),
        "error": record.get("error"),
        "first_seen": record.get("first_seen"),
        "updated_at": record.get("updated_at"),
    }


def quarantine_report(documents: DocumentStore) -> dict[str, Any]:
    """The quarantine records as the API shows them: no store fields, every day with the same keys."""
    records = [
        r for r in documents.query_range(SYSTEM_PARTITION, QUARANTINE_DOC_TYPE, KEY_FIRST, KEY_LAST) if is_active(r)
    ]
    days = [
        {"region_code": r.get("region"), **{k: d.get(k, False if k == "failed" else None) for k in _DAY_FIELDS}}
        for r in records
        for d in r.get("days", [])
        if isinstance(d, dict)
    ]
    return {
        "updated_at": max((str(r["updated_at"]) for r in records if r.get("updated_at")), default=None),
        "count": len(days),
        "unknown_regions": sorted({str(d["region_code"]) for d in days if d["unknown_region"]}),
        "unknown_sources": sorted({str(s) for d in days for s in d["unknown_sources"] or []}),
        "days": days,
        "months": [_month(r) for r in records],
    }


def _handle(ctx: RequestContext) -> Reply:
    return Reply(quarantine_report(ctx.stores.documents), cache_control=caching.NO_STORE)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def quarantine_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
