"""France (FR) materialized like a region, from the 12 regions' stored day documents (never from Gold).

After the regional batches of a run, one FR batch per month touched rebuilds the FR day documents of the days
any region's batch attempted, from what the store then holds for the 12 regions (domain.national: sums,
Σ(P·EF)/ΣP, never silently partial), then writes them through the regional write path of
domain.materialization: CSV file then document (compare-and-swap, skipped when the content hash is unchanged),
the month rollup, the changes feed and the revision history.

An FR day document has the shape of a region's (domain.aggregate), region_code "FR", plus:
- per interval (half-hour and hour): `complete` (every region had every value it reports) and
  `regions_missing` (the region codes that lacked something); an hour is complete when both its half-hours are;
- per day: `complete` (every interval complete) and `regions_missing` (their union, in INSEE order).
The batch also writes the month series (domain.series_cache) of the 12 regions and FR, from the month's day
documents it reads anyway, for the forecast step.
Rules beyond domain.national's:
- Hourly values are the means of the two half-hours (null when either is null); the hour's carbon intensity
  is recomputed from its mean production by source, null where its production is.
- Day totals: energy per source over the half-hours that have it; production, consumption and the carbon
  intensity (Σ emissions / Σ basis) only over the half-hours whose FR production is known, so a day's
  intensity is never made of a partial France.
- `nature` is the least final among the regions' days, `final` needs the 12 regions' days final and the FR
  day complete, `source_loaded_at` is the newest of theirs (a rebuilt FR day from newer regional days wins a
  race against an older one, as a region's day does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from domain.aggregate import (
    INTERVAL_VALUE_COLUMNS,
    LOAD_FACTOR_SOURCES,
    SERIES_SOURCES,
    HalfHours,
    _clean,
    _day_totals,
    _interval_dicts,
    _totals_dict,
    carbon_term_arrays,
    nature_rank,
)
from domain.change_feed import record_changes
from domain.hashing import with_content_hash
from domain.local_time import TIMEZONE
from domain.materialization import BatchResult, PlannedBatch, _batch_result, _DayCsvs, _write_days, _write_month
from domain.models import SCHEMA_VERSION, Units
from domain.naming import day_doc_id
from domain.national import DECIMALS, NationalHalfHours, national_half_hours
from domain.planning import Batch
from domain.ports import Document, DocumentStore, FileStore
from domain.regions import NATIONAL, REGIONS
from domain.series_cache import month_series_document
from domain.sources import METHODOLOGY_VERSION, PRODUCTION_SOURCES

_COLUMN: Final[dict[str, int]] = {name: i for i, name in enumerate(INTERVAL_VALUE_COLUMNS)}
_PRODUCTION: Final[list[int]] = [_COLUMN[f"sources.{s}"] for s in PRODUCTION_SOURCES]
_SOURCES: Final[list[int]] = [_COLUMN[f"sources.{s}"] for s in SERIES_SOURCES]
_LOADS: Final[list[int]] = [_COLUMN[f"facteur_charge.{s}"] for s in LOAD_FACTOR_SOURCES]
_OWN: Final[list[int]] = [_COLUMN["consumption_mw"], *_SOURCES, *_LOADS]
_REGION_ORDER: Final[dict[str, int]] = {r.code: i for i, r in enumerate(REGIONS)}


def interval_column(intervals: Sequence[Mapping[str, Any]], column: str) -> np.ndarray:
    """One INTERVAL_VALUE_COLUMNS column of interval objects as float64, NaN where null (numpy reads None as
    NaN for a float array: one list per column, no per-value call)."""
    group, _, name = column.partition(".")
    if name:
        return np.array([(i.get(group) or {}).get(name) for i in intervals], dtype=np.float64)
    return np.array([i.get(group) for i in intervals], dtype=np.float64)


def half_hours_of(day_docs: Sequence[Document]) -> HalfHours:
    """The half-hours of stored day documents in arrays (the inverse of their `intervals`), in date order."""
    ordered = sorted(day_docs, key=lambda d: d["date"])
    intervals = [i for d in ordered for i in d["intervals"]]
    values = np.empty((len(intervals), len(INTERVAL_VALUE_COLUMNS)))
    for c, column in enumerate(INTERVAL_VALUE_COLUMNS):
        values[:, c] = interval_column(intervals, column)
    return HalfHours(
        [d["date"] for d in ordered],
        [len(d["intervals"]) for d in ordered],
        [i["timestamp"] for i in intervals],
        values,
    )


def _hourly(values: np.ndarray) -> np.ndarray:
    """Hour rows from consecutive half-hour pairs: means (NaN when either is), the intensity recomputed."""
    hours = (values[0::2] + values[1::2]) / 2
    weighted, basis = carbon_term_arrays(hours[:, _PRODUCTION])
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(basis > 0, weighted / basis, np.nan)
    hours[:, _COLUMN["carbon_intensity_g_per_kwh"]] = np.where(
        np.isnan(hours[:, _COLUMN["production_mw"]]), np.nan, intensity
    )
    return np.round(hours, DECIMALS) + 0.0


def _totals(values: np.ndarray, day_codes: np.ndarray) -> list[dict[str, Any]]:
    """Each day's totals (domain.aggregate's), the production-based ones over the half-hours with FR production."""
    mw = pd.DataFrame(values[:, _SOURCES], columns=list(SERIES_SOURCES))
    tch = pd.DataFrame(values[:, _LOADS], columns=list(LOAD_FACTOR_SOURCES))
    production = values[:, _COLUMN["production_mw"]]
    weighted, basis = carbon_term_arrays(values[:, _PRODUCTION])
    unknown = np.isnan(production)
    derived = {
        "production": pd.Series(production),
        "consumption": pd.Series(values[:, _COLUMN["consumption_mw"]]),
        "weighted": pd.Series(np.where(unknown, np.nan, weighted)),
        "basis": pd.Series(np.where(unknown, np.nan, basis)),
    }
    totals = _day_totals(day_codes, mw, tch, derived)
    return [_totals_dict(dict(zip(totals.columns, row, strict=True))) for row in _clean(totals.to_numpy())]


def _missing_union(lists: Sequence[list[str]]) -> list[str]:
    return sorted({code for codes in lists for code in codes}, key=_REGION_ORDER.__getitem__)


def national_day_documents(
    national: NationalHalfHours, region_days: Mapping[str, Sequence[Document]]
) -> tuple[list[Document], HalfHours]:
    """FR day documents from the FR half-hours and the regions' day documents they came from (region code →
    its day documents, for provenance), with their half-hours in arrays (for the CSV files)."""
    days = [stamp[:10] for stamp in national.timestamps]  # the local date of a local ISO timestamp
    dates = list(dict.fromkeys(days))
    counts = [days.count(d) for d in dates]
    if any(c % 2 for c in counts):
        raise ValueError("an FR day with an odd number of half-hours: the regions' days are not whole")
    day_codes = np.repeat(np.arange(len(dates)), counts)
    values = national.values
    hourly_values = _hourly(values) if len(values) else values
    totals = _totals(values, day_codes) if len(values) else []
    by_date: dict[str, list[Document]] = {}
    for docs in region_days.values():
        for region_doc in docs:
            by_date.setdefault(region_doc["date"], []).append(region_doc)

    documents: list[Document] = []
    start = 0
    for position, (day, count) in enumerate(zip(dates, counts, strict=True)):
        rows = slice(start, start + count)
        stamps = national.timestamps[rows]
        complete = national.complete[rows].tolist()
        missing = national.regions_missing[rows]
        intervals = [
            {**interval, "complete": ok, "regions_missing": codes}
            for interval, ok, codes in zip(_interval_dicts(stamps, values[rows]), complete, missing, strict=True)
        ]
        hour_rows = slice(start // 2, (start + count) // 2)
        hourly = [
            {**interval, "complete": complete[2 * h] and complete[2 * h + 1], "regions_missing": codes}
            for h, (interval, codes) in enumerate(
                zip(
                    _interval_dicts(stamps[0::2], hourly_values[hour_rows]),
                    [_missing_union(missing[2 * h : 2 * h + 2]) for h in range(count // 2)],
                    strict=True,
                )
            )
        ]
        sources = by_date.get(day, [])
        natures = sorted((str(d.get("nature", "")) for d in sources), key=lambda n: (nature_rank(n), n))
        day_complete = all(complete)
        doc: dict[str, Any] = {
            "id": day_doc_id(NATIONAL.code, day),
            "doc_type": "day",
            "key": day,
            "region_code": NATIONAL.code,
            "region_name": NATIONAL.name,
            "date": day,
            "timezone": TIMEZONE,
            "interval_minutes": 30,
            "interval_count": count,
            "intervals_with_data": int(np.isfinite(values[rows][:, _OWN]).any(axis=1).sum()),
            "units": Units().model_dump(),
            "intervals": intervals,
            "hourly": hourly,
            "totals": totals[position],
            "nature": natures[0] if natures else "",
            "final": day_complete and len(sources) == len(REGIONS) and all(d.get("final") for d in sources),
            "source_loaded_at": max((str(d.get("source_loaded_at", "")) for d in sources), default=""),
            "methodology_version": METHODOLOGY_VERSION,
            "schema_version": SCHEMA_VERSION,
            "complete": day_complete,
            "regions_missing": _missing_union(missing),
        }
        documents.append(with_content_hash(doc, numbers_canonical=True))
        start += count
    return documents, HalfHours(dates, counts, list(national.timestamps), values)


def _month_days(documents: DocumentStore, region_code: str, month: str) -> list[Document]:
    return documents.query_range(region_code, "day", f"{month}-01", f"{month}-31")


_PROVENANCE: Final[tuple[str, ...]] = ("date", "nature", "final", "source_loaded_at")


@dataclass(frozen=True, slots=True)
class _RegionMonth:
    """What FR needs of one region-month, the day documents themselves let go: the wanted days' half-hours
    and provenance, and the month series (domain.series_cache)."""

    half_hours: HalfHours | None
    provenance: list[Document]
    series: Document | None


def _region_month(documents: DocumentStore, region_code: str, month: str, wanted: set[str]) -> _RegionMonth:
    docs = _month_days(documents, region_code, month)
    chosen = [d for d in docs if d.get("date") in wanted]
    return _RegionMonth(
        half_hours_of(chosen) if chosen else None,
        [{k: d.get(k) for k in _PROVENANCE} for d in chosen],
        month_series_document(region_code, month, docs) if docs else None,
    )


def _national_days(regions: Mapping[str, _RegionMonth]) -> tuple[list[Document], HalfHours]:
    present = {code: r for code, r in regions.items() if r.half_hours is not None}
    if not present:
        return [], HalfHours([], [], [], np.empty((0, len(INTERVAL_VALUE_COLUMNS))))
    national = national_half_hours({code: r.half_hours for code, r in present.items() if r.half_hours is not None})
    return national_day_documents(national, {code: r.provenance for code, r in present.items()})


def build_national_days(documents: DocumentStore, days: Sequence[str]) -> tuple[list[Document], HalfHours]:
    """The FR day documents of `days` (one month's) from the 12 regions' stored day documents: one range query
    per region, each region's documents reduced to arrays as soon as read. A day no region has is not built."""
    wanted = set(days)
    month = min(wanted)[:7]
    return _national_days({r.code: _region_month(documents, r.code, month, wanted) for r in REGIONS})


def materialize_national(
    documents: DocumentStore, files: FileStore, batch: Batch, *, now: str | None = None
) -> BatchResult:
    """One FR month: rebuild the listed days from the regions' stored days, write them (file then document,
    unchanged days skipped), the month rollup, then announce the changes (feed and revisions) dated `now`."""
    if batch["region_code"] != NATIONAL.code:
        raise ValueError(f"not a national batch: {batch['region_code']!r}")
    month = batch["month"]
    if any(d[:7] != month for d in batch["days"]):
        raise ValueError(f"days outside {month}")
    regions = {r.code: _region_month(documents, r.code, month, set(batch["days"])) for r in REGIONS}
    day_docs, half_hours = _national_days(regions)
    days_written = files_written = 0
    if day_docs:
        known = documents.content_hashes(NATIONAL.code, [d["id"] for d in day_docs])
        csvs = _DayCsvs(NATIONAL.code, NATIONAL.name, half_hours)
        days_written, files_written, stored = _write_days(documents, files, NATIONAL.code, day_docs, known, csvs)
        month_outcome = _write_month(documents, files, NATIONAL.code, month, day_docs)
        files_written += month_outcome.file_written
        stored += [month_outcome.stored] if month_outcome.stored is not None else []
        when = now or datetime.now(UTC).isoformat(timespec="microseconds")
        record_changes(documents, NATIONAL.code, month, stored, when)
    # The month series of the 13 areas for the forecast step (domain.series_cache), from the days at hand.
    fr_days = _month_days(documents, NATIONAL.code, month)
    fr_series = month_series_document(NATIONAL.code, month, fr_days) if fr_days else None
    for code, series in [*((c, r.series) for c, r in regions.items()), (NATIONAL.code, fr_series)]:
        if (
            series is not None
            and documents.content_hashes(code, [series["id"]]).get(series["id"]) != series["content_hash"]
        ):
            documents.upsert(series)
    # FR is never quarantined: with no attempted days, its result never touches the quarantine record.
    dates = [d["date"] for d in day_docs]
    empty = PlannedBatch(region_code=NATIONAL.code, month=month, days=[], loaded_at="")
    return _batch_result(empty, dates, days_written, files_written, [])
