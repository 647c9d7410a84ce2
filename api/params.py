"""Request parameters as pydantic models: parsing, limits and the 400 errors they produce."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from api.http import ApiError, ParameterError
from domain.regions import AREAS, AREAS_BY_CODE, REGIONS
from domain.sources import ALL_SOURCES

# Span limits of one range request: they bound the documents read and the page built per call.
MAX_INTERVAL_RANGE_DAYS = 31  # granularity 30min | hour
MAX_DAY_RANGE_DAYS = 366  # granularity day
MAX_BACKFILL_RANGE_DAYS = 3660
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
MAX_OFFSET = 1_000_000
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)

# The 12 regions: what Gold holds, what a backfill takes, what "all regions" means (ranges, bulk exports).
REGION_CODES: list[str] = [r.code for r in REGIONS]
# Every code a read route takes: the 12 regions and FR, France as a whole (their sum).
AREA_CODES: list[str] = [r.code for r in AREAS]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")
_YEAR = re.compile(r"\d{4}")


def _strict_date(value: Any) -> Any:
    """Only YYYY-MM-DD (pydantic alone would also take datetimes and Unix timestamps)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a valid calendar date") from None
    if not EARLIEST_DAY <= parsed <= LATEST_DAY:
        raise ValueError(f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
    return parsed


def _strict_month(value: Any) -> Any:
    if not isinstance(value, str) or not _MONTH.fullmatch(value) or not 1 <= int(value[5:7]) <= 12:
        raise ValueError("must be a month as YYYY-MM")
    if not EARLIEST_DAY.year <= int(value[:4]) <= LATEST_DAY.year:
        raise ValueError(f"must be between {EARLIEST_DAY.year}-01 and {LATEST_DAY.year}-12")
    return value


def _strict_year(value: Any) -> Any:
    if not isinstance(value, str) or not _YEAR.fullmatch(value):
        raise ValueError("must be a year as YYYY")
    if not EARLIEST_DAY.year <= int(value) <= LATEST_DAY.year:
        raise ValueError(f"must be between {EARLIEST_DAY.year} and {LATEST_DAY.year}")
    return value


# The 2000-2099 bounds are in the schema too (a year pattern: JSON Schema has no date minimum), so a client
# or a fuzzer that follows the document never sends a date the API rejects as out of range.
IsoDate = Annotated[
    date,
    BeforeValidator(_strict_date),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^20\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
            "example": "2024-03-31",
        }
    ),
]
IsoMonth = Annotated[
    str,
    BeforeValidator(_strict_month),
    # No `example`: with both examples a client (or a fuzzer's examples phase) sends date and month together.
    WithJsonSchema({"type": "string", "pattern": r"^20\d{2}-(0[1-9]|1[0-2])$"}),
]
IsoYear = Annotated[
    str,
    BeforeValidator(_strict_year),
    WithJsonSchema({"type": "string", "pattern": r"^20\d{2}$"}),
]
ExportFormat = Literal["csv", "parquet"]
RegionCode = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "enum": AREA_CODES,
            "example": "11",
            "description": "INSEE region code, or FR for France as a whole (the sum of the 12 regions)",
        }
    ),
]
GoldRegionCode = Annotated[str, WithJsonSchema({"type": "string", "enum": REGION_CODES, "example": "11"})]


def _known_region(value: str) -> str:
    if value not in AREAS_BY_CODE:
        raise ValueError(f"must be one of the published region codes: {', '.join(AREA_CODES)}")
    return value


# A query value outside the published enum is a bad parameter (400); a path naming an unknown region is a
# resource that does not exist (404, `require_region`): the same enum in the document for both.
QueryRegionCode = Annotated[RegionCode, AfterValidator(_known_region)]
SourceType = Literal[ALL_SOURCES]  # type: ignore[valid-type]
Granularity = Literal["30min", "hour", "day"]


class RangeQuery(BaseModel):
    """GET /v1/production/regional."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    region_code: QueryRegionCode | None = Field(
        default=None, description="INSEE region code, or FR (France); the 12 regions when omitted"
    )
    start_date: IsoDate = Field(description="First local day (Europe/Paris), inclusive")
    end_date: IsoDate = Field(description="Last local day, inclusive")
    source_type: SourceType | None = Field(default=None, description="Keep only this source in sources/facteur_charge")
    granularity: Granularity = Field("hour", description="30min and hour: ≤ 31 days; day: ≤ 366 days")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip")


class DayPath(BaseModel):
    """GET /v1/production/regional/{region_code}/{date}."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    region_code: RegionCode
    date: IsoDate


class ExportQuery(BaseModel):
    """GET /v1/export/csv and /v1/export/parquet: exactly one of `date`, `month` and `year`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    region_code: QueryRegionCode | None = Field(
        default=None,
        description="INSEE region code, or FR (France, its own file); the 12 regions in one file when omitted",
    )
    date: IsoDate | None = Field(default=None, description="One day's file (exclusive with month and year)")
    month: IsoMonth | None = Field(
        default=None, description="One month's file, YYYY-MM, e.g. 2024-06 (exclusive with date and year)"
    )
    year: IsoYear | None = Field(
        default=None, description="One year's file, YYYY, e.g. 2024 (exclusive with date and month)"
    )
    format: ExportFormat | None = Field(
        default=None,
        description="csv (Excel-FR: UTF-8 BOM, `;`, decimal comma) or parquet (one row per interval, typed columns, "
        "timestamps in Europe/Paris); csv when omitted on /v1/export/csv, parquet on /v1/export/parquet",
    )
    redirect: bool = Field(
        default=True,
        description="true: 302 to the signed link; false: 200 with the link as JSON ({url, expires_at}), for a "
        "browser client that must fetch the link without its API key (the storage origin refuses that header)",
    )


class ParquetExportQuery(ExportQuery):
    """GET /v1/export/parquet: the parameters of /v1/export/csv; `format`, when given, can only be parquet."""

    format: Literal["parquet"] | None = Field(default=None, description="parquet (the only format of this route)")


class BackfillRequest(BaseModel):
    """POST /v1/admin/backfills body."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start_date: IsoDate
    end_date: IsoDate
    region_codes: list[GoldRegionCode] | None = Field(
        default=None,
        max_length=len(REGION_CODES) * 2,
        description="All 12 when omitted; FR is not one (every backfill rebuilds FR for the days it covers)",
    )


class BackfillPath(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    instance_id: str = Field(max_length=128)


M = TypeVar("M", bound=BaseModel)


def parameter_errors(exc: ValidationError, prefix: str = "") -> list[ParameterError]:
    errors: list[ParameterError] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        message = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
        message = message.removeprefix("Value error, ")
        errors.append(ParameterError(prefix + loc, message))
    return errors


def parse(model: type[M], values: Mapping[str, Any], what: str = "query") -> M:
    """Validate into `model`; 400 with one error per parameter otherwise. Empty query values count as absent."""
    # Sorted: the host's query map has no order (a protobuf map on the worker), so errors must not follow it.
    cleaned = {k: v for k, v in sorted(values.items()) if not (isinstance(v, str) and v == "" and what == "query")}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        errors = parameter_errors(exc)
        names = ", ".join(sorted({e.parameter for e in errors}))
        raise ApiError(400, f"Invalid {what} parameters: {names}.", errors=errors, slug="invalid-parameters") from None


def parse_day_path(values: Mapping[str, Any]) -> tuple[str, str]:
    """`parse(DayPath, values, what="path")`, as the day's key: region code and day (YYYY-MM-DD)."""
    path = parse(DayPath, values, what="path")
    return path.region_code, path.date.isoformat()


def require_region(code: str | None, parameter: str = "region_code") -> None:
    if code is not None and code not in AREAS_BY_CODE:
        raise ApiError(
            404,
            f"Unknown region {code!r}; known codes: {', '.join(AREA_CODES)}.",
            errors=[ParameterError(parameter, "unknown region code")],
            slug="unknown-region",
        )


def check_span(start: date, end: date, max_days: int, why: str) -> None:
    """400 when end < start or when the inclusive span exceeds `max_days` (the limit is stated)."""
    if end < start:
        raise ApiError(
            400,
            f"end_date ({end}) is before start_date ({start}).",
            errors=[ParameterError("end_date", "must not be before start_date")],
            slug="invalid-range",
        )
    days = (end - start).days + 1
    if days > max_days:
        raise ApiError(
            400,
            f"The range covers {days} days; at most {max_days} days are allowed {why}.",
            errors=[ParameterError("end_date", f"range exceeds {max_days} days")],
            slug="range-too-large",
        )
