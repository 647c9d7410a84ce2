"""GET /v1/intensity/now and GET /v1/intensity/greenest-window.

now: the latest materialized interval of every region and of FR (domain.intensity_now), one point read of a
document the materialization rewrites at every commit; a short max-age (60 s), as the next commit may bring a
newer interval. 404 before the first commit.

greenest-window: the lowest-intensity window of a duration within a span (domain.greenest), over the measured
half-hours of the day documents when the span is past, over the forecast when it is future (domain.greenest_reads
says which, and the forecast's expected error). One point read (the forecast) plus one range query (past spans).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import azure.durable_functions as df
import azure.functions as func
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from api import caching
from api.auth import Role
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, respond
from api.openapi import Operation
from api.params import QueryRegionCode, parse, require_region
from domain.greenest import SLOT, greenest_windows
from domain.greenest_reads import (
    expected_error,
    forecast_points,
    local_days,
    measured_points,
    parse_duration,
    windows_body,
)
from domain.intensity_now import INTENSITY_NOW_DOC_ID
from domain.text_formats import DateText, TimestampText
from stores.ports import SYSTEM_PARTITION, DocumentStore

bp = df.Blueprint()

NOW_ROUTE = Route("intensity_now", "/v1/intensity/now", {"GET": Role.reader})
NOW_CACHE = "public, max-age=60"
GREENEST_ROUTE = Route("greenest_window", "/v1/intensity/greenest-window", {"GET": Role.reader})
MAX_SPAN_DAYS = 31
MAX_WINDOWS = 10
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, tzinfo=UTC)
FORECAST_DOC_PREFIX = "forecast:"  # domain.forecast_materialization.forecast_doc_id (that module loads numpy)


def _duration(value: str) -> str:
    parse_duration(value)  # ValueError → 400 naming `duration`
    return value


class GreenestQuery(BaseModel):
    """GET /v1/intensity/greenest-window."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    region_code: QueryRegionCode = Field(description="INSEE region code, or FR (France)")
    duration: Annotated[
        str,
        AfterValidator(_duration),
        WithJsonSchema({"type": "string", "pattern": r"^P(\d{1,3}D)?(T(\d{1,4}H)?(\d{1,6}M)?)?$", "example": "PT2H"}),
    ] = Field(description="ISO 8601 duration, a positive multiple of 30 minutes (PT2H, PT90M)")
    start: AwareDatetime | None = Field(
        default=None,
        description="Span start, ISO 8601 with offset, on a half-hour; the forecast's origin (the end of the "
        "known data) when omitted",
    )
    end: AwareDatetime | None = Field(default=None, description="Span end (exclusive); start + 48 h when omitted")
    k: int = Field(
        1, ge=1, le=MAX_WINDOWS, description="Windows returned: the best, then the next best not overlapping"
    )


class GreenestWindowItem(BaseModel):
    start: TimestampText
    end: TimestampText
    mean_intensity_g_per_kwh: float = Field(description="Time-weighted mean over the window, gCO2eq/kWh")
    saving_g_per_kwh: float | None = Field(description="Span mean minus window mean")
    saving_pct: float | None = Field(description="The saving in % of the span mean")


class GreenestWindow(BaseModel):
    region_code: str
    duration: str
    basis: Literal["measured", "forecast"] = Field(description="Measured half-hours, or the latest forecast")
    expected_error: dict[str, Any] | None = Field(
        description="Forecast basis: the backtest MAE (gCO2eq/kWh) of the model chosen for each band the span touches"
    )
    span: dict[str, TimestampText]
    span_mean_intensity_g_per_kwh: float | None
    half_hours: int
    half_hours_with_data: int = Field(description="A half-hour without a value makes its windows ineligible")
    best: GreenestWindowItem | None = Field(description="Null when no window has a value at every half-hour")
    alternatives: list[GreenestWindowItem]
    units: dict[str, str]


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
        GREENEST_ROUTE,
        "GET",
        "getGreenestWindow",
        "The lowest-intensity window of a duration in a span: measured (past) or forecast (future)",
        query=GreenestQuery,
        ok_model=GreenestWindow,
        errors=(400, 404),
    ),
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
    body = intensity_now(ctx.stores.documents)
    tag = caching.combined_etag([str(body["materialized_at"])], "intensity-now")
    return Reply(body, etag=tag, cache_control=NOW_CACHE)


@bp.function_name(name=NOW_ROUTE.function_name)
@bp.route(route=NOW_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def intensity_now_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, NOW_ROUTE, _now)


def _bad(parameter: str, message: str, detail: str) -> ApiError:
    return ApiError(400, detail, errors=[ParameterError(parameter, message)], slug="invalid-parameters")


def greenest_window(documents: DocumentStore, query: GreenestQuery) -> dict[str, Any]:
    """The answer of GET /v1/intensity/greenest-window (see the module docstring)."""
    code = query.region_code
    require_region(code)
    for name, moment in (("start", query.start), ("end", query.end)):
        if moment is not None and not EARLIEST <= moment <= LATEST:
            raise _bad(name, "must be between 2000 and 2099", f"{name} is out of range.")
    duration = parse_duration(query.duration)
    forecast = documents.get(code, FORECAST_DOC_PREFIX + code)
    origin = datetime.fromisoformat(str(forecast["origin"]).replace("Z", "+00:00")) if forecast else None
    start = query.start.astimezone(UTC) if query.start is not None else origin
    if start is None:
        raise ApiError(404, f"No forecast for region {code} to start from: give start and end.", slug="no-data")
    end = query.end.astimezone(UTC) if query.end is not None else start + timedelta(hours=48)
    if (start - datetime(2000, 1, 1, tzinfo=UTC)) % SLOT:
        raise _bad("start", "must be on a half-hour (:00 or :30)", "start is not on a half-hour.")
    if (end - start) % SLOT:
        raise _bad("end", "must be a whole number of half-hours after start", "end is not on a half-hour.")
    if end <= start:
        raise _bad("end", "must be after start", "The span is empty.")
    if end - start > timedelta(days=MAX_SPAN_DAYS):
        raise _bad("end", f"span exceeds {MAX_SPAN_DAYS} days", f"At most {MAX_SPAN_DAYS} days are searched.")
    if duration > end - start:
        raise _bad("duration", "longer than the span", "The duration is longer than the span.")
    if origin is not None and start < origin < end:
        raise _bad(
            "end",
            f"the span crosses the end of the measured data ({forecast['origin'] if forecast else ''})",
            "Search the past (measured) and the future (forecast) separately.",
        )
    if origin is not None and start >= origin and forecast is not None:
        basis, points, error = "forecast", forecast_points(forecast), expected_error(forecast, start, end)
    else:
        first, last = local_days(start, end)
        basis, points, error = "measured", measured_points(documents.query_range(code, "day", first, last)), None
    found = greenest_windows(points, duration, span_start=start, span_end=end, alternatives=query.k - 1)
    return {
        "region_code": code,
        "duration": query.duration,
        "basis": basis,
        "expected_error": error,
        **windows_body(found, points),
        "units": {"intensity": "gCO2eq/kWh"},
    }


def _greenest(ctx: RequestContext) -> Reply:
    body = greenest_window(ctx.stores.documents, parse(GreenestQuery, ctx.req.params))
    return Reply(body, cache_control=caching.SHORT)


@bp.function_name(name=GREENEST_ROUTE.function_name)
@bp.route(route=GREENEST_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def greenest_window_http(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, GREENEST_ROUTE, _greenest)
