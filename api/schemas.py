"""Response models: what each route returns, as documented in the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import DayDocument, SourceValues, Units
from domain.text_formats import DateText, TimestampText


class ProblemError(BaseModel):
    parameter: str
    message: str


class Problem(BaseModel):
    """application/problem+json (RFC 9457): every 4xx and 5xx of this API."""

    type: str = Field(examples=["urn:eco2mix:problem:invalid-parameters"])
    title: str
    status: int
    detail: str
    request_id: str
    errors: list[ProblemError] | None = None


class StoreHealth(BaseModel):
    status: Literal["ok", "unavailable"]
    backend: str
    latency_ms: float
    error: str | None = None


class MaterializationLag(BaseModel):
    watermark: TimestampText | None = Field(
        description="Newest Gold load (loaded_at, UTC) materialized; null when none"
    )
    lag_seconds: float | None = Field(description="Age of the watermark in seconds: alert when it grows")


class LastRun(BaseModel):
    status: Literal["completed", "failed"] | None
    mode: str | None
    at: TimestampText | None = Field(description="When the run record last changed (UTC): first run so ending")


class MaterializationCheck(BaseModel):
    """Degraded while any region-month is quarantined or the incremental run failed twice in a row."""

    status: Literal["ok", "degraded"]
    quarantined_region_months: int = Field(description="Region-months set aside (see /v1/admin/quarantine)")
    quarantined: list[str] = Field(description="Their keys `{region}:{YYYY-MM}`, the first 20")
    consecutive_failures: int = Field(description="Incremental runs failed in a row (0 after a completed one)")
    last_error: str | None = Field(
        description="What failed last: `run failed: <exception type>` or `<region>:<month>: <exception type>`"
    )
    last_run: LastRun | None = Field(description="The last run outcome recorded; null before any")


class FreshnessCheck(BaseModel):
    """Degraded when the newest materialized half-hour started longer ago than `stale_after_seconds`
    (HEALTH_STALE_AFTER_SECONDS): an upstream outage. The data is still served, with its age."""

    status: Literal["ok", "degraded", "unknown"] = Field(description="`unknown` before the first commit")
    newest_interval: TimestampText | None = Field(
        description="Local start of the newest materialized half-hour over the regions and FR (the newest "
        "`timestamp` of /v1/intensity/now); null before the first commit"
    )
    age_seconds: float | None = Field(description="Seconds since that half-hour started")
    stale_after_seconds: float = Field(description="The age beyond which the data is stale")


class HealthChecks(BaseModel):
    materialization: MaterializationCheck | None = Field(description="Null when the documents store is down")
    freshness: FreshnessCheck | None = Field(description="Null when the documents store is down")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    stores: dict[str, StoreHealth]
    materialization: MaterializationLag
    checks: HealthChecks


class PublicHealth(BaseModel):
    """What anyone may read: the status, the newest data materialized and why it is degraded (error types only;
    backends, latencies and store errors: operators)."""

    status: Literal["ok", "degraded"]
    materialization: MaterializationLag
    checks: HealthChecks


class RegionSpan(BaseModel):
    code: str
    name: str
    has_nuclear: bool
    first_day: DateText | None = Field(description="First materialized local day, null when none")
    last_day: DateText | None


class RegionList(BaseModel):
    items: list[RegionSpan]
    count: int


class ProductionItem(BaseModel):
    """One interval (30min, hour) or one day of one region. A missing value is null, never zero."""

    model_config = ConfigDict(extra="allow")
    region: str
    region_name: str
    timestamp: TimestampText = Field(description="Local start of the interval, ISO 8601 with offset")
    production_mw: float | None
    consumption_mw: float | None
    sources: SourceValues = Field(description="MW by source (day: energy_mwh / hours of the local day)")
    facteur_charge: SourceValues = Field(description="Load factor (TCH) in % by source (day: mean)")
    carbon_intensity_g_per_kwh: float | None
    complete: bool | None = Field(
        default=None, description="FR only: every region had every value it reports in this interval"
    )
    regions_missing: list[str] | None = Field(
        default=None, description="FR only: the regions that lacked a value here (their sums are null)"
    )


class DayProductionItem(ProductionItem):
    """granularity=day adds the day's energy (MWh = MW × hours) and peaks."""

    date: DateText
    interval_count: int
    final: bool
    energy_mwh: SourceValues
    production_mwh: float | None
    consumption_mwh: float | None
    production_mw_peak: float | None
    consumption_mw_peak: float | None
    emissions_tco2eq: float | None


class PageLinks(BaseModel):
    self: str
    next: str | None


class ProductionPage(BaseModel):
    granularity: Literal["30min", "hour", "day"]
    start_date: DateText
    end_date: DateText
    region_code: str | None
    source_type: str | None
    units: Units
    limit: int
    offset: int
    count: int
    total: int
    next: str | None = Field(description="URL of the next page, null on the last one")
    links: PageLinks
    items: list[DayProductionItem | ProductionItem]


class DayResponse(DayDocument):
    """One materialized day (the stored document)."""


class BackfillLinks(BaseModel):
    self: str
    terminate: str


class BackfillStatus(BaseModel):
    """A materialization run: a backfill, or the scheduled incremental run (id `materialize-incremental`)."""

    id: str
    kind: Literal["backfill", "incremental"] | None = Field(default=None, description="What started the run")
    runtime_status: str | None = Field(description="Pending, Running, Completed, Failed, Terminated, …")
    created_time: TimestampText | None
    last_updated_time: TimestampText | None
    request: dict[str, Any] | None = Field(description="start_date, end_date, region_codes")
    progress: dict[str, Any] | None = Field(description="From the orchestration: done, total, stage, …")
    output: Any = Field(default=None, description="Summary when Completed")
    already_running: bool = Field(False, description="True when POST returned an existing run")
    links: BackfillLinks


class RunList(BaseModel):
    """One page of runs, newest first within the page; follow `next` until it is null (a page may hold fewer
    items than `limit`, even none, while more remain)."""

    items: list[BackfillStatus]
    created_from: TimestampText | None = Field(description="The created_from this listing applies, if any")
    continuation: str | None = Field(description="Opaque; pass it as `continuation` for the next page")
    next: str | None = Field(description="The next page's URL; null on the last page")


class QuarantinedDay(BaseModel):
    region_code: str
    date: DateText = Field(description="Local day (YYYY-MM-DD) left unmaterialized")
    unknown_region: bool = Field(description="The region code is not one of the 12 regions")
    unknown_sources: list[str] = Field(description="Source names in Gold that the aggregation does not know")
    failed: bool = Field(False, description="Its region-month's batch failed (the month's `error` says why)")
    first_seen: TimestampText | None = Field(description="When a run first set this day aside (UTC)")
    last_seen: TimestampText | None = Field(description="When a run last tried it")
    instance_id: str | None = Field(description="The orchestration instance that last tried it")


class QuarantinedMonth(BaseModel):
    """One region-month's quarantine record (at most 31 days)."""

    region_code: str
    month: str = Field(description="YYYY-MM")
    days: int = Field(description="Days set aside in this month")
    failures: int = Field(description="Failing runs in a row for this region-month")
    set_aside: bool = Field(description="Retried only after its back-off (or a Gold change), not every run")
    next_retry_at: TimestampText | None = Field(description="Not retried before this (UTC) unless Gold changes")
    error: str | None = Field(description="The batch's error (truncated), when it failed")
    first_seen: TimestampText | None
    updated_at: TimestampText | None


class QuarantineReport(BaseModel):
    """Region-days the materialization set aside, for Gold rows it cannot aggregate or a batch that failed;
    everything else materialized. Retried with back-off, or as soon as Gold changes for them; a day leaves
    the list once it materializes."""

    updated_at: TimestampText | None
    count: int
    unknown_regions: list[str]
    unknown_sources: list[str]
    days: list[QuarantinedDay]
    months: list[QuarantinedMonth] = Field(default_factory=list, description="The same days, by region-month")
