"""Pydantic models of the materialized documents: the contract between the pipeline and the API.

Document ids: day `"{region_code}:{YYYY-MM-DD}"`, month `"{region_code}:{YYYY-MM}"`. Every document
also carries `key` (the date or month) so that a single-partition range query can order by it.
Units: power in MW (mean power over the interval), energy in MWh, load factor (TCH) in %,
carbon intensity in gCO2eq/kWh. A missing value is null, never zero.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from domain.local_time import TIMEZONE
from domain.text_formats import DateText, TimestampText

SCHEMA_VERSION = 1

SourceValues = dict[str, float | None]


class Units(BaseModel):
    model_config = ConfigDict(frozen=True)
    power: Literal["MW"] = "MW"
    energy: Literal["MWh"] = "MWh"
    load_factor: Literal["%"] = "%"
    carbon_intensity: Literal["gCO2eq/kWh"] = "gCO2eq/kWh"


class Interval(BaseModel):
    """One interval (30 min in `intervals`, 60 min in `hourly`); timestamp is its local start with offset."""

    timestamp: TimestampText = Field(examples=["2024-03-31T03:00:00+02:00"])
    production_mw: float | None  # sum of PRODUCTION_SOURCES present; null when none is present
    consumption_mw: float | None
    sources: SourceValues  # MW by source, production and balance sources (pompage, ech_physiques)
    facteur_charge: SourceValues  # TCH in % by production source
    carbon_intensity_g_per_kwh: float | None


class DayTotals(BaseModel):
    energy_mwh: SourceValues  # Σ MW × interval hours, by source
    production_mwh: float | None
    consumption_mwh: float | None
    production_mw_avg: float | None
    production_mw_peak: float | None
    consumption_mw_avg: float | None
    consumption_mw_peak: float | None
    facteur_charge_avg: SourceValues
    carbon_intensity_g_per_kwh: float | None  # energy-weighted over the day
    emissions_tco2eq: float | None
    # Σ max(P_s, 0) × hours over production sources: the denominator of the carbon intensity, so that
    # days roll up into an exact month intensity (Σ emissions / Σ basis).
    carbon_basis_mwh: float | None = None


class DayDocument(BaseModel):
    id: str
    doc_type: Literal["day"] = "day"
    key: str  # = date
    region_code: str
    region_name: str
    date: DateText
    timezone: str = TIMEZONE
    interval_minutes: int = 30
    interval_count: int  # 48, or 46 / 50 on DST days
    intervals_with_data: int
    units: Units = Units()
    intervals: list[Interval]
    hourly: list[Interval]  # 24, 23 or 25 hours
    totals: DayTotals
    nature: str  # éCO2mix data nature of the day's rows (e.g. "Données définitives")
    final: bool  # True when the day's data can no longer change (definitive data)
    source_loaded_at: TimestampText  # max Gold loaded_at of the day's rows (UTC ISO)
    methodology_version: str
    schema_version: int = SCHEMA_VERSION
    content_hash: str  # sha256 of the canonical JSON of every other field


class DaySummary(BaseModel):
    """One day inside a month document: what the `granularity=day` API serves."""

    date: DateText
    timestamp: TimestampText  # local midnight with offset
    interval_count: int
    totals: DayTotals
    final: bool


class MonthDocument(BaseModel):
    id: str
    doc_type: Literal["month"] = "month"
    key: str  # = month
    region_code: str
    region_name: str
    month: str
    timezone: str = TIMEZONE
    units: Units = Units()
    days: list[DaySummary]
    energy_mwh: SourceValues
    production_mwh: float | None
    consumption_mwh: float | None
    carbon_intensity_g_per_kwh: float | None
    final: bool
    source_loaded_at: TimestampText
    methodology_version: str
    schema_version: int = SCHEMA_VERSION
    content_hash: str


class GoldRow(NamedTuple):
    """One Gold fact as the reader returns it (stores.gold) and the aggregation consumes it."""

    horodatage_utc: str  # instant, "YYYY-MM-DDTHH:MM:SSZ"
    date_locale: str  # Europe/Paris day of that instant, "YYYY-MM-DD"
    source_name: str  # domain.sources.ALL_SOURCES
    valeur_mw: float | None
    facteur_charge: float | None  # TCH, %
    loaded_at: str  # UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (sorts as text)
    nature: str
