"""GET /v1/intensity/now: the latest materialized interval of every region and of FR (domain.intensity_now).

One point read of a document the materialization rewrites at every commit; a short max-age (60 s), as the next
commit may bring a newer interval. 404 before the first commit.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, Field

from api import caching
from api.auth import Role
from api.deps import stores
from api.http import ALL_METHODS, ApiError, Reply, RequestContext, Route, respond
from api.openapi import Operation
from domain.intensity_now import INTENSITY_NOW_DOC_ID
from domain.text_formats import DateText, TimestampText
from stores.ports import SYSTEM_PARTITION, DocumentStore

bp = df.Blueprint()

NOW_ROUTE = Route("intensity_now", "/v1/intensity/now", {"GET": Role.reader})
NOW_CACHE = "public, max-age=60"


class AreaNow(BaseModel):
    """The newest half-hour with a carbon intensity of one region (or FR)."""

    region_code: str = Field(examples=["FR"])
    region_name: str
    timestamp: TimestampText = Field(description="Local start of the half-hour, ISO 8601 with offset")
    date: DateText
    carbon_intensity_g_per_kwh: float | None = Field(description="gCO2eq/kWh")
    production_mw: float | None
    consumption_mw: float | None
    mix_pct: dict[str, float | None] = Field(description="Each production source's share of production, %")
    nature: str | None = Field(description="éCO2mix data nature of the day (e.g. Données temps réel)")
    final: bool
    source_loaded_at: TimestampText | None = Field(description="When Gold loaded that day's rows (UTC)")
    complete: bool | None = Field(default=None, description="FR only: every region was there")
    regions_missing: list[str] | None = Field(default=None, description="FR only: regions that lacked a value")


class IntensityNow(BaseModel):
    materialized_at: TimestampText = Field(description="The commit that wrote this document (UTC)")
    watermark: TimestampText | None = Field(description="Newest Gold load materialized (UTC)")
    interval_minutes: int
    units: dict[str, str]
    methodology_version: str
    items: list[AreaNow]
    missing: list[str] = Field(description="Areas with no materialized interval yet")


OPERATIONS = (
    Operation(
        NOW_ROUTE,
        "GET",
        "getIntensityNow",
        "The latest materialized half-hour of every region and of FR: intensity, mix, consumption, nature",
        ok_model=IntensityNow,
        errors=(404,),
        conditional=True,
    ),
)
_PUBLIC_FIELDS = (
    "materialized_at",
    "watermark",
    "interval_minutes",
    "units",
    "methodology_version",
    "items",
    "missing",
)


def intensity_now(documents: DocumentStore) -> dict[str, Any]:
    doc = documents.get(SYSTEM_PARTITION, INTENSITY_NOW_DOC_ID)
    if doc is None:
        raise ApiError(404, "Nothing materialized yet.", slug="no-data")
    return {k: doc.get(k) for k in _PUBLIC_FIELDS}


def _now(ctx: RequestContext) -> Reply:
    body = intensity_now(stores().documents)
    tag = caching.combined_etag([str(body["materialized_at"])], "intensity-now")
    return Reply(body, etag=tag, cache_control=NOW_CACHE)


@bp.function_name(name=NOW_ROUTE.function_name)
@bp.route(route=NOW_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def intensity_now_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, NOW_ROUTE, _now)
