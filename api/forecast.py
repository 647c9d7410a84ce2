"""GET /v1/forecast/regional/{region_code}?horizon=: the latest forecast of a region or FR (one point read of the
document the materialization writes after each commit, domain.forecast_materialization), cut to the horizon."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from api import caching
from api.auth import Role
from api.http import ALL_METHODS, ApiError, Reply, RequestContext, Route, respond
from api.openapi import Operation
from api.params import RegionCode, parse, require_region
from domain.text_formats import TimestampText
from stores.ports import DocumentStore

bp = df.Blueprint()

ROUTE = Route("forecast_regional", "/v1/forecast/regional/{region_code}", {"GET": Role.reader})
MAX_HORIZON_HOURS = 48
FORECAST_DOC_PREFIX = "forecast:"  # domain.forecast_materialization.forecast_doc_id (that module loads numpy)


class ForecastPath(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    region_code: RegionCode


class ForecastQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    horizon: int = Field(
        MAX_HORIZON_HOURS, ge=1, le=MAX_HORIZON_HOURS, description="Hours after the origin, 1 to 48 (48 when omitted)"
    )


class ForecastValue(BaseModel):
    value: float | None
    lower: float | None = Field(description="10 % quantile: forecast + the band's 10 % backtest residual")
    upper: float | None = Field(description="90 % quantile")


class ForecastInterval(BaseModel):
    """One half-hour: `timestamp` and, per forecast variable (carbon_intensity_g_per_kwh, consumption_mw,
    sources.<source>), its value with the prediction interval."""

    model_config = ConfigDict(extra="allow")
    timestamp: TimestampText = Field(description="Local start of the half-hour, ISO 8601 with offset")
    carbon_intensity_g_per_kwh: ForecastValue


class Forecast(BaseModel):
    """The latest forecast: no weather input (the models read only the series' own history); the model of each
    horizon band is the lowest-MAE one of a rolling-origin backtest, whose metrics are in `models`."""

    model_config = ConfigDict(extra="allow")
    region_code: str
    region_name: str
    issued_at: TimestampText = Field(description="When the materialization issued it (UTC)")
    origin: TimestampText = Field(description="First forecast half-hour: the end of the known data (UTC)")
    interval_minutes: int
    horizon_hours: int
    units: dict[str, str]
    models: dict[str, Any] = Field(description="Per variable: the chosen model per band, its backtest metrics")
    history: dict[str, Any] = Field(description="The days the backtest and the models read")
    exogenous_inputs: str
    methodology_version: str
    intervals: list[ForecastInterval]


OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "getForecast",
        "The latest 48 h forecast of a region or FR (carbon intensity, consumption, sources), with its backtest",
        path=ForecastPath,
        query=ForecastQuery,
        ok_model=Forecast,
        errors=(400, 404),
        conditional=True,
    ),
)
_HIDDEN = ("id", "key", "doc_type", "content_hash", "_etag", "_rid", "_self", "_ts", "_attachments")


def latest_forecast(documents: DocumentStore, region_code: str, horizon_hours: int) -> dict[str, Any]:
    """The stored forecast cut to `horizon_hours`; 404 for an unknown region or none issued yet."""
    require_region(region_code)
    doc = documents.get(region_code, FORECAST_DOC_PREFIX + region_code)
    if doc is None:
        raise ApiError(404, f"No forecast issued for region {region_code} yet.", slug="no-data")
    body = {k: v for k, v in doc.items() if k not in _HIDDEN}
    slots = horizon_hours * 60 // int(doc.get("interval_minutes", 30))
    body["intervals"] = list(doc.get("intervals", []))[:slots]
    body["horizon_hours"] = min(horizon_hours, int(doc.get("horizon_hours", MAX_HORIZON_HOURS)))
    return {**body, "content_hash": doc.get("content_hash")}


def _handle(ctx: RequestContext) -> Reply:
    path = parse(ForecastPath, ctx.req.route_params, what="path")
    query = parse(ForecastQuery, ctx.req.params)
    body = latest_forecast(ctx.stores.documents, path.region_code, query.horizon)
    tag = caching.combined_etag([str(body.pop("content_hash"))], f"forecast|{query.horizon}")
    return Reply(body, etag=tag, cache_control=caching.SHORT)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def forecast_regional(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
