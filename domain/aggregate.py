"""One region's Gold rows → one document per local day (Europe/Paris), and month rollups of those days.

Rules (the API and the CSV files state the same):
- The intervals of a day come from the calendar, not from the rows: every half-hour from local midnight
  to the next local midnight, 48, 46 on the spring DST day and 50 on the autumn one (02:00+02:00 then
  02:00+01:00). A half-hour Gold has nothing for is still listed, with nulls.
- The local day of a row is computed from its UTC instant (`date_locale` must agree; the instant wins).
- Several rows for one (instant, source): the latest `loaded_at` wins. Rows finer than 30 min (real-time
  data every 15 min) are averaged into their half-hour: the mean power over the half-hour.
- Missing stays missing: a source with no value is null, never 0. `production_mw` is the sum of the
  production sources present, null when none is.
- Hourly series: a value is the mean of the hour's two half-hours when both are present, else null, so an
  hour never passes off one half-hour as the whole hour. Day totals are computed from the half-hours (not
  the hours), so energy reconciles with the half-hourly data even when an hour is incomplete.
- Energy of a source = Σ MW × 0.5 h over its present half-hours (null when none is present); a day with
  gaps reports the energy of the half-hours it has (`intervals_with_data`, the half-hours with at least
  one value, says how many). Averages and peaks are over the present half-hours; the load factor average
  is the plain mean of the present TCH values. Carbon: see domain.carbon (daily CI is energy-weighted).
- `nature` is the least final nature among the day's rows (prévisionnelles < temps réel < consolidées <
  définitives; an unknown one counts as least final), so a day never looks more settled than its worst row;
  known natures are given in their official spelling. `final` is True only when every row is definitive.
- Every number is rounded to `DECIMALS` (3) decimals after computing from unrounded values, and written
  in canonical JSON form (integral values as int), so the document hashes without a second pass and a
  JSON round trip through a store does not change it.
"""

from __future__ import annotations

import calendar
import copy
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from domain.carbon import KG_PER_TONNE, intensity_from_totals
from domain.gold_columns import GoldColumns
from domain.hashing import with_content_hash
from domain.local_time import PARIS, TIMEZONE
from domain.models import SCHEMA_VERSION, GoldRow, Units
from domain.naming import day_doc_id, month_doc_id
from domain.regions import AREAS_BY_CODE
from domain.sources import (
    ALL_SOURCES,
    BALANCE_SOURCES,
    CONSUMPTION,
    EMISSION_FACTORS_G_PER_KWH,
    METHODOLOGY_VERSION,
    PRODUCTION_SOURCES,
)

INTERVAL_MINUTES: Final[int] = 30
INTERVAL_HOURS: Final[float] = INTERVAL_MINUTES / 60
DECIMALS: Final[int] = 3
# Columns of `sources` / `energy_mwh`, and of `facteur_charge`: always all of them, in this order.
SERIES_SOURCES: Final[tuple[str, ...]] = (*PRODUCTION_SOURCES, *BALANCE_SOURCES)
LOAD_FACTOR_SOURCES: Final[tuple[str, ...]] = PRODUCTION_SOURCES
DEFINITIVE_NATURE: Final[str] = "Données définitives"
_MW_COLUMNS: Final[list[str]] = [*SERIES_SOURCES, CONSUMPTION]
_EMISSION_FACTORS: Final[np.ndarray] = np.array([EMISSION_FACTORS_G_PER_KWH[s] for s in PRODUCTION_SOURCES])
# The numbers of an interval, in the order of HalfHours.values (and of the CSV's number cells).
INTERVAL_VALUE_COLUMNS: Final[tuple[str, ...]] = (
    "production_mw",
    "consumption_mw",
    *(f"sources.{s}" for s in SERIES_SOURCES),
    *(f"facteur_charge.{s}" for s in LOAD_FACTOR_SOURCES),
    "carbon_intensity_g_per_kwh",
)
_SOURCES_AT = slice(2, 2 + len(SERIES_SOURCES))
_LOADS_AT = slice(_SOURCES_AT.stop, _SOURCES_AT.stop + len(LOAD_FACTOR_SOURCES))


@dataclass(frozen=True, slots=True)
class HalfHours:
    """The half-hours of built day documents in arrays, as the documents hold them: what a renderer working
    on arrays takes (domain.csv_export.render_day_csvs) instead of walking the documents' dicts.

    Row i is the i-th half-hour of the days in date order; day j has counts[j] rows."""

    dates: list[str]
    counts: list[int]
    timestamps: list[str]
    values: np.ndarray  # float64, rows × INTERVAL_VALUE_COLUMNS, rounded to DECIMALS, NaN where null


def _nature_key(nature: str) -> str:
    """Accent- and case-free: some files spell "Donnees definitives"."""
    return "".join(c for c in unicodedata.normalize("NFKD", nature.lower()) if c.isalnum())


# éCO2mix natures from least to most final.
NATURES: Final[tuple[str, ...]] = (
    "Données prévisionnelles",
    "Données temps réel",
    "Données consolidées",
    DEFINITIVE_NATURE,
)
_NATURE_BY_KEY: Final[dict[str, str]] = {_nature_key(n): n for n in NATURES}
_DEFINITIVE_RANK: Final[int] = len(NATURES) - 1


def nature_rank(nature: str) -> int:
    """How final a data nature is: higher is more final; -1 for an unknown nature."""
    known = _NATURE_BY_KEY.get(_nature_key(nature))
    return NATURES.index(known) if known is not None else -1


def canonical_nature(nature: str) -> str:
    """The official spelling of a known nature ("Donnees definitives" → "Données définitives")."""
    return _NATURE_BY_KEY.get(_nature_key(nature), nature)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), PARIS)


def day_instants(day: date) -> pd.DatetimeIndex:
    """UTC starts of every half-hour of local `day`: 48, or 46 / 50 on DST days (from the tz database)."""
    start = local_midnight(day).astimezone(UTC)
    end = local_midnight(day + timedelta(days=1)).astimezone(UTC)
    return pd.date_range(start, end, freq=f"{INTERVAL_MINUTES}min", inclusive="left", name="instant")


def interval_count(day: date) -> int:
    """Half-hours in local `day`: 48, 46 or 50."""
    start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    return int((end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(minutes=INTERVAL_MINUTES))


def _region_name(region_code: str) -> str:
    region = AREAS_BY_CODE.get(region_code)  # FR too: its month rollup is built here
    if region is None:
        raise ValueError(f"unknown region code {region_code!r}")
    return region.name


def _rounded(values: np.ndarray) -> np.ndarray:
    """Rounded to DECIMALS; `+ 0.0` turns a rounded -0.0 into 0.0."""
    return np.round(values.astype("float64"), DECIMALS) + 0.0


def _clean(values: np.ndarray) -> list[list[Any]]:
    """Rows of canonical JSON numbers: rounded to DECIMALS, integral values as int, NaN (or ±inf) as None.

    These are the forms `domain.hashing` normalizes to, so the documents hash without a second walk.
    """
    return _json_numbers(_rounded(values))


def _json_numbers(rounded: np.ndarray) -> list[list[Any]]:
    """`_clean` of values already `_rounded`."""
    missing = ~np.isfinite(rounded)
    integral = ~missing & (rounded == np.floor(rounded))
    out = rounded.astype(object)
    out[integral] = rounded[integral].astype(np.int64).astype(object)
    out[missing] = None
    return out.tolist()


def _frame(columns: GoldColumns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "instant": pd.to_datetime(columns.minutes, unit="m", utc=True),
            "source_name": columns.source_name,
            "valeur_mw": columns.valeur_mw,
            "facteur_charge": columns.facteur_charge,
            "loaded_at": columns.loaded_at,
            "nature": columns.nature,
        }
    )


def _unique_facts(columns: GoldColumns) -> tuple[GoldColumns, bool]:
    """(the facts with one row per (instant, source), the latest load winning, independently of input order;
    whether every instant is a half-hour start)."""
    unknown = set(pd.unique(columns.source_name)) - set(ALL_SOURCES)
    if unknown:
        raise ValueError(f"unknown source names in Gold rows: {', '.join(sorted(map(str, unknown)))}")
    on_grid = bool((columns.minutes % INTERVAL_MINUTES == 0).all())
    source_codes, names = pd.factorize(columns.source_name)
    keys = columns.minutes * len(names) + source_codes
    if on_grid and len(np.unique(keys)) == len(keys):
        return columns, True  # one row per (half-hour, source): every later step is independent of row order
    # Sorting on every column makes the kept row, and the order in which quarter-hours are averaged,
    # independent of the input order (shuffled rows → same document).
    frame = _frame(columns).sort_values(
        ["instant", "source_name", "loaded_at", "nature", "valeur_mw", "facteur_charge"], kind="stable"
    )
    kept = frame.drop_duplicates(["instant", "source_name"], keep="last").index.to_numpy()
    return GoldColumns(*(getattr(columns, name)[kept] for name in GoldColumns.__slots__)), on_grid


def _wide(columns: GoldColumns, on_grid: bool, index: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(MW, TCH) by half-hour × source on the calendar `index`; NaN where Gold has nothing.

    Facts on the half-hour grid (one per half-hour and source) are placed in the arrays as they are; finer
    ones are averaged into their half-hour."""
    if not on_grid:
        frame = _frame(columns)
        slot = frame["instant"].dt.floor(f"{INTERVAL_MINUTES}min")
        grouped = frame.groupby([slot, frame["source_name"]], sort=True)[["valeur_mw", "facteur_charge"]].mean()
        mw = grouped["valeur_mw"].unstack("source_name").reindex(index=index, columns=_MW_COLUMNS)
        tch = grouped["facteur_charge"].unstack("source_name").reindex(index=index, columns=list(LOAD_FACTOR_SOURCES))
        # One block each, as below: pandas' grouped means sum a frame's columns differently depending on
        # how its columns are split into blocks, so the layout is fixed, not left to unstack and reindex.
        return (
            pd.DataFrame(mw.to_numpy(dtype="float64"), index=index, columns=_MW_COLUMNS),
            pd.DataFrame(tch.to_numpy(dtype="float64"), index=index, columns=list(LOAD_FACTOR_SOURCES)),
        )
    slots = np.searchsorted(index.as_unit("s").asi8 // 60, columns.minutes)
    codes, names = pd.factorize(columns.source_name)
    mw_values = np.full((len(index), len(_MW_COLUMNS)), np.nan)
    tch_values = np.full((len(index), len(LOAD_FACTOR_SOURCES)), np.nan)
    for code, name in enumerate(names):
        rows = codes == code
        if name in _MW_COLUMNS:
            mw_values[slots[rows], _MW_COLUMNS.index(name)] = columns.valeur_mw[rows]
        if name in LOAD_FACTOR_SOURCES:
            tch_values[slots[rows], LOAD_FACTOR_SOURCES.index(name)] = columns.facteur_charge[rows]
    return (
        pd.DataFrame(mw_values, index=index, columns=_MW_COLUMNS),
        pd.DataFrame(tch_values, index=index, columns=list(LOAD_FACTOR_SOURCES)),
    )


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Σ of each row's present values, NaN where none is: pandas' `sum(axis=1, min_count=1)`, in numpy."""
    present = ~np.isnan(values)
    sums = np.where(present, values, 0.0).sum(axis=1)
    sums[~present.any(axis=1)] = np.nan
    return sums


def carbon_term_arrays(production_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`domain.carbon.carbon_terms` of an array whose columns are PRODUCTION_SOURCES (the same sums, without a
    frame per call: the aggregation calls it twice per region-month)."""
    clamped = np.clip(production_mw, 0.0, None)
    return _row_sums(clamped * _EMISSION_FACTORS), _row_sums(clamped)


def _series(frame_mw: pd.DataFrame, frame_tch: pd.DataFrame) -> dict[str, Any]:
    """Per-row derived values of a (MW, TCH) frame: production, consumption, carbon intensity."""
    production_mw = frame_mw[list(PRODUCTION_SOURCES)].to_numpy(dtype="float64")
    weighted, basis = carbon_term_arrays(production_mw)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = np.where(basis > 0, weighted / basis, np.nan)
    return {
        "production": pd.Series(_row_sums(production_mw)),
        "consumption": pd.Series(frame_mw[CONSUMPTION].to_numpy(dtype="float64")),
        "ci": pd.Series(ci),
        "weighted": pd.Series(weighted),
        "basis": pd.Series(basis),
    }


def _interval_values(mw: pd.DataFrame, tch: pd.DataFrame, derived: dict[str, Any]) -> np.ndarray:
    """The rounded numbers of each interval, columns INTERVAL_VALUE_COLUMNS."""
    return _rounded(
        np.column_stack(
            [
                derived["production"].to_numpy(dtype="float64"),
                derived["consumption"].to_numpy(dtype="float64"),
                mw[list(SERIES_SOURCES)].to_numpy(dtype="float64"),
                tch[list(LOAD_FACTOR_SOURCES)].to_numpy(dtype="float64"),
                derived["ci"].to_numpy(dtype="float64"),
            ]
        )
    )


def _interval_dicts(timestamps: list[str], values: np.ndarray) -> list[dict[str, Any]]:
    """The interval objects of the documents from `_interval_values` (key order is the stored JSON's)."""
    return [
        {
            "timestamp": stamp,
            "production_mw": row[0],
            "consumption_mw": row[1],
            "sources": dict(zip(SERIES_SOURCES, row[_SOURCES_AT], strict=True)),
            "facteur_charge": dict(zip(LOAD_FACTOR_SOURCES, row[_LOADS_AT], strict=True)),
            "carbon_intensity_g_per_kwh": row[-1],
        }
        for stamp, row in zip(timestamps, _json_numbers(values), strict=True)
    ]


def _offset_text(minutes: int) -> str:
    """UTC offset as isoformat writes it: `+01:00`."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _local_isoformat(index: pd.DatetimeIndex) -> list[str]:
    """`Timestamp.isoformat()` of each instant in Paris time (`2024-10-27T02:30:00+01:00`), vectorized: the
    wall clock as numpy writes it, plus the offset of each instant (one text per distinct offset)."""
    utc = index.tz_convert(UTC).tz_localize(None).to_numpy().astype("datetime64[s]")
    wall = index.tz_convert(PARIS).tz_localize(None).to_numpy().astype("datetime64[s]")
    offsets = (wall - utc).astype("timedelta64[m]").astype(np.int64)
    codes, uniques = pd.factorize(offsets)
    offset_texts = np.array([_offset_text(int(m)) for m in uniques], dtype=object)
    stamps = np.datetime_as_string(wall, unit="s").astype(object) + offset_texts[codes]
    result: list[str] = stamps.tolist()
    return result


def _pair_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Hour means of consecutive half-hour pairs; NaN + x is NaN, so an hour missing a half is null."""
    values = frame.to_numpy()
    return pd.DataFrame((values[0::2] + values[1::2]) / 2, index=frame.index[::2], columns=frame.columns)


def _day_totals(day_codes: np.ndarray, mw: pd.DataFrame, tch: pd.DataFrame, derived: dict[str, Any]) -> pd.DataFrame:
    """One row per local day (by position: `day_codes` numbers the half-hours' days) with every total."""
    # Grouping by a plain integer array: a pandas Index key costs a failed label lookup per call.
    energy = mw.groupby(day_codes).sum(min_count=1) * INTERVAL_HOURS
    production = derived["production"].groupby(day_codes)
    consumption = derived["consumption"].groupby(day_codes)
    weighted = derived["weighted"].groupby(day_codes).sum(min_count=1) * INTERVAL_HOURS
    basis = derived["basis"].groupby(day_codes).sum(min_count=1) * INTERVAL_HOURS
    loads = tch.groupby(day_codes).mean()
    return pd.DataFrame(
        {
            **{f"energy:{s}": energy[s] for s in SERIES_SOURCES},
            "production_mwh": production.sum(min_count=1) * INTERVAL_HOURS,
            "consumption_mwh": consumption.sum(min_count=1) * INTERVAL_HOURS,
            "production_mw_avg": production.mean(),
            "production_mw_peak": production.max(),
            "consumption_mw_avg": consumption.mean(),
            "consumption_mw_peak": consumption.max(),
            **{f"load:{s}": loads[s] for s in LOAD_FACTOR_SOURCES},
            "carbon_intensity_g_per_kwh": (weighted / basis).where(basis > 0),
            "emissions_tco2eq": weighted / KG_PER_TONNE,
            "carbon_basis_mwh": basis,
        }
    )


def _totals_dict(values: Mapping[str, float | None]) -> dict[str, Any]:
    return {
        "energy_mwh": {s: values[f"energy:{s}"] for s in SERIES_SOURCES},
        "production_mwh": values["production_mwh"],
        "consumption_mwh": values["consumption_mwh"],
        "production_mw_avg": values["production_mw_avg"],
        "production_mw_peak": values["production_mw_peak"],
        "consumption_mw_avg": values["consumption_mw_avg"],
        "consumption_mw_peak": values["consumption_mw_peak"],
        "facteur_charge_avg": {s: values[f"load:{s}"] for s in LOAD_FACTOR_SOURCES},
        "carbon_intensity_g_per_kwh": values["carbon_intensity_g_per_kwh"],
        "emissions_tco2eq": values["emissions_tco2eq"],
        "carbon_basis_mwh": values["carbon_basis_mwh"],
    }


def _day_provenance(columns: GoldColumns, row_days: np.ndarray, days: list[str]) -> list[tuple[str, bool, str]]:
    """By local day (`row_days`: each fact's position in `days`): (least final nature, every row definitive,
    max loaded_at)."""
    nature_codes, uniques = pd.factorize(columns.nature)
    natures = sorted({canonical_nature(str(n)) for n in uniques}, key=lambda n: (nature_rank(n), n))
    order = np.array([natures.index(canonical_nature(str(n))) for n in uniques], dtype=np.int64)
    worst = np.full(len(days), len(natures), dtype=np.int64)
    np.minimum.at(worst, row_days, order[nature_codes])
    loaded_codes, loaded_uniques = pd.factorize(columns.loaded_at)
    loads = sorted(str(v) for v in loaded_uniques)
    rank = np.array([loads.index(str(v)) for v in loaded_uniques], dtype=np.int64)
    latest = np.full(len(days), -1, dtype=np.int64)
    np.maximum.at(latest, row_days, rank[loaded_codes])
    return [
        (natures[code], nature_rank(natures[code]) == _DEFINITIVE_RANK, loads[last])
        for code, last in zip(worst.tolist(), latest.tolist(), strict=True)
    ]


def _paris_days(minutes: np.ndarray) -> np.ndarray:
    """The Europe/Paris date (`YYYY-MM-DD`) of each UTC epoch minute."""
    wall = pd.DatetimeIndex(pd.to_datetime(minutes, unit="m", utc=True)).tz_convert(PARIS).tz_localize(None)
    return np.datetime_as_string(wall.to_numpy().astype("datetime64[D]"), unit="D").astype(object)


def build_day_documents(region_code: str, rows: Sequence[GoldRow] | GoldColumns) -> list[dict[str, Any]]:
    """One DayDocument dict per local day present in `rows` (one region's Gold rows), in date order."""
    return build_days(region_code, rows)[0]


def build_days(region_code: str, rows: Sequence[GoldRow] | GoldColumns) -> tuple[list[dict[str, Any]], HalfHours]:
    """`build_day_documents`, with the days' half-hours also in arrays (HalfHours)."""
    region_name = _region_name(region_code)
    if not len(rows):
        return [], HalfHours([], [], [], np.empty((0, len(INTERVAL_VALUE_COLUMNS))))
    columns, on_grid = _unique_facts(rows if isinstance(rows, GoldColumns) else GoldColumns.from_rows(rows))
    # Local day of each row, formatted once per distinct instant (rows repeat each instant per source). The
    # instants come sorted and a later instant never has an earlier local day: the days come in date order.
    instants, instant_codes = np.unique(columns.minutes, return_inverse=True)
    day_codes, unique_days = pd.factorize(_paris_days(instants))
    row_days = day_codes[instant_codes]
    days = [str(d) for d in unique_days]
    calendars = [day_instants(date.fromisoformat(d)) for d in days]
    index = calendars[0].append(calendars[1:]) if len(calendars) > 1 else calendars[0]
    counts = [len(c) for c in calendars]
    slot_day_codes = np.repeat(np.arange(len(days)), counts)

    mw, tch = _wide(columns, on_grid, index)
    derived = _series(mw, tch)
    timestamps = _local_isoformat(index)
    values = _interval_values(mw, tch, derived)
    intervals = _interval_dicts(timestamps, values)
    has_data = (mw.notna().any(axis=1) | tch.notna().any(axis=1)).to_numpy()

    # Hours pair consecutive half-hours: each local day starts on a whole UTC hour (Paris offsets are
    # whole hours) and has an even number of half-hours, so pairs never straddle two hours or two days.
    hour_mw, hour_tch = _pair_means(mw), _pair_means(tch)
    hourly = _interval_dicts(
        _local_isoformat(pd.DatetimeIndex(hour_mw.index)),
        _interval_values(hour_mw, hour_tch, _series(hour_mw, hour_tch)),
    )

    totals = _day_totals(slot_day_codes, mw, tch, derived)
    totals_rows = _clean(totals.to_numpy())
    provenance = _day_provenance(columns, row_days, days)

    documents: list[dict[str, Any]] = []
    start = hour_start = 0
    for position, (day, count) in enumerate(zip(days, counts, strict=True)):
        hour_count = count // 2
        nature, final, loaded_at = provenance[position]
        doc: dict[str, Any] = {
            "id": day_doc_id(region_code, day),
            "doc_type": "day",
            "key": day,
            "region_code": region_code,
            "region_name": region_name,
            "date": day,
            "timezone": TIMEZONE,
            "interval_minutes": INTERVAL_MINUTES,
            "interval_count": count,
            "intervals_with_data": int(has_data[start : start + count].sum()),
            "units": Units().model_dump(),
            "intervals": intervals[start : start + count],
            "hourly": hourly[hour_start : hour_start + hour_count],
            "totals": _totals_dict(dict(zip(totals.columns, totals_rows[position], strict=True))),
            "nature": nature,
            "final": final,
            "source_loaded_at": loaded_at,
            "methodology_version": METHODOLOGY_VERSION,
            "schema_version": SCHEMA_VERSION,
        }
        documents.append(with_content_hash(doc, numbers_canonical=True))
        start += count
        hour_start += hour_count
    return documents, HalfHours(days, counts, timestamps, values)


# --- month rollup ---------------------------------------------------------------------------------------


def _number(value: float | None) -> float | int | None:
    """A canonical JSON number (see `_clean`): rounded to DECIMALS, integral as int."""
    if value is None:
        return None
    rounded = round(value, DECIMALS) + 0.0
    return int(rounded) if rounded.is_integer() else rounded


def _sum_present(values: Iterable[float | None]) -> float | int | None:
    present = [v for v in values if v is not None]
    return _number(sum(present)) if present else None


def month_days(month: str) -> list[str]:
    """Every calendar day of `month` (YYYY-MM)."""
    year, mon = int(month[:4]), int(month[5:7])
    return [f"{month}-{d:02d}" for d in range(1, calendar.monthrange(year, mon)[1] + 1)]


def build_month_document(region_code: str, month: str, day_docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """MonthDocument dict from the month's day documents (any order; extra store fields are ignored).

    Sums skip missing days and null values (null only when nothing is present); the carbon intensity is
    Σ emissions / Σ carbon basis. `final` needs every calendar day present and final.
    """
    region_name = _region_name(region_code)
    calendar_days = month_days(month)
    by_date: dict[str, dict[str, Any]] = {}
    for doc in day_docs:
        if doc.get("region_code") != region_code or doc.get("date") not in calendar_days:
            raise ValueError(f"day document {doc.get('id')!r} is not a day of region {region_code} in {month}")
        if doc["date"] in by_date:
            raise ValueError(f"two day documents for {doc['date']}")
        by_date[doc["date"]] = doc
    if not by_date:
        raise ValueError(f"no day documents for region {region_code} in {month}")
    ordered = [by_date[d] for d in sorted(by_date)]
    totals = [d["totals"] for d in ordered]
    month_doc: dict[str, Any] = {
        "id": month_doc_id(region_code, month),
        "doc_type": "month",
        "key": month,
        "region_code": region_code,
        "region_name": region_name,
        "month": month,
        "timezone": TIMEZONE,
        "units": Units().model_dump(),
        "days": [
            {
                "date": d["date"],
                "timestamp": local_midnight(date.fromisoformat(d["date"])).isoformat(),
                "interval_count": d["interval_count"],
                "totals": copy.deepcopy(d["totals"]),
                "final": d["final"],
            }
            for d in ordered
        ],
        "energy_mwh": {s: _sum_present(t["energy_mwh"].get(s) for t in totals) for s in SERIES_SOURCES},
        "production_mwh": _sum_present(t["production_mwh"] for t in totals),
        "consumption_mwh": _sum_present(t["consumption_mwh"] for t in totals),
        "carbon_intensity_g_per_kwh": _number(
            intensity_from_totals((t["emissions_tco2eq"] for t in totals), (t.get("carbon_basis_mwh") for t in totals))
        ),
        "final": len(ordered) == len(calendar_days) and all(d["final"] for d in ordered),
        "source_loaded_at": max(d["source_loaded_at"] for d in ordered),
        "methodology_version": METHODOLOGY_VERSION,
        "schema_version": SCHEMA_VERSION,
    }
    # Day totals come back from a store in whatever number form it keeps: hash through the full walk.
    return with_content_hash(month_doc)
