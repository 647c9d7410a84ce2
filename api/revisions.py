"""GET /v1/production/regional/{region_code}/{date}/revisions: every materialized version of a region-day.

One point read of the day's own history record (domain.revisions). Only when it is absent: the region-month's
legacy record (a month not migrated yet), and the day document, to tell an unknown day (404, as the day route)
from a day materialized before histories were kept (no versions).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, Field

from api import caching
from api.auth import Role
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, respond
from api.openapi import Operation
from api.params import DayPath, parse, require_region
from domain.naming import day_doc_id
from domain.revisions import from_legacy, history, is_legacy, revisions_doc_id
from stores.ports import DocumentStore

bp = df.Blueprint()

ROUTE = Route(
    "production_day_revisions", "/v1/production/regional/{region_code}/{date}/revisions", {"GET": Role.reader}
)
UNITS = {"energy": "MWh", "emissions": "tCO2eq"}


class RevisionTotals(BaseModel):
    """A version's day totals; a missing value is null, never zero."""

    production_mwh: float | None
    consumption_mwh: float | None
    emissions_tco2eq: float | None
    intervals_with_data: int | None = None
    energy_mwh: dict[str, float | None] = Field(description="Energy by source")


class RevisionChanges(BaseModel):
    """This version minus the one before; null where either version has no value."""

    production_mwh: float | None
    consumption_mwh: float | None
    emissions_tco2eq: float | None
    intervals_with_data: int | None = None
    energy_mwh: dict[str, float | None]


class Revision(BaseModel):
    number: int = Field(description="1 for the day's first version ever; a jump marks dropped versions", ge=1)
    content_hash: str
    nature: str | None = Field(description="éCO2mix data nature of the day's rows")
    final: bool
    loaded_at: dt.datetime | None = Field(description="Newest Gold load (loaded_at, UTC) of the day's rows")
    materialized_at: dt.datetime = Field(description="When this version was materialized (UTC)")
    totals: RevisionTotals
    changes: RevisionChanges | None = Field(
        description="Differences from the previous version listed (after dropped versions: from the first one); "
        "null for the first"
    )


class RevisionHistory(BaseModel):
    region: str
    date: dt.date
    units: dict[str, str] = Field(examples=[UNITS])
    items: list[Revision] = Field(
        description="Oldest first; the last one is the version served now. The first version and the latest "
        "ones are kept, those between are dropped (versions_dropped)"
    )
    count: int = Field(description="Versions listed in items")
    versions_total: int = Field(description="Versions ever materialized, listed or dropped", ge=0)
    versions_dropped: int = Field(description="Versions between the first and the latest ones not kept", ge=0)


OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "listProductionDayRevisions",
        "Every materialized version of one region-day, with what changed in its totals",
        path=DayPath,
        ok_model=RevisionHistory,
        errors=(400, 404),
        conditional=True,
    ),
)

_PUBLIC_FIELDS = ("number", "content_hash", "nature", "final", "loaded_at", "materialized_at", "totals", "changes")


def day_revisions(documents: DocumentStore, region_code: str, day: str) -> dict[str, Any]:
    """The versions of one day, oldest first; 404 for an unknown region or a day with no materialized data."""
    require_region(region_code)
    record = documents.get(region_code, revisions_doc_id(region_code, day))
    if record is None:  # maybe a month whose history is still one legacy record (no batch changed it since)
        legacy = documents.get(region_code, revisions_doc_id(region_code, day[:7]))
        record = from_legacy(legacy, region_code, day) if legacy is not None and is_legacy(legacy) else None
    versions = history(record)
    if not versions and documents.get(region_code, day_doc_id(region_code, day)) is None:
        raise ApiError(
            404,
            f"No data materialized for region {region_code} on {day}.",
            errors=[ParameterError("date", "no data for this day")],
            slug="no-data",
        )
    items = [{k: v.get(k) for k in _PUBLIC_FIELDS} for v in versions]
    total = int((record or {}).get("versions_total") or len(items))
    return {
        "region": region_code,
        "date": day,
        "units": UNITS,
        "items": items,
        "count": len(items),
        "versions_total": total,
        "versions_dropped": total - len(items),
    }


def _handle(ctx: RequestContext) -> Reply:
    path = parse(DayPath, dict(ctx.req.route_params), what="path")
    body = day_revisions(ctx.stores.documents, path.region_code, path.date.isoformat())
    tag = caching.combined_etag(
        [i["content_hash"] for i in body["items"]], f"revisions:{body['region']}:{body['date']}"
    )
    return Reply(body, etag=tag, cache_control=caching.SHORT)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def production_day_revisions(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
