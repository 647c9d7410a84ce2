"""France (FR) per half-hour from the 12 regions' half-hours: sums, never averages, and never silently partial.

Input: each region's `domain.aggregate.HalfHours` (the arrays of its built day documents); output: the same
columns (`INTERVAL_VALUE_COLUMNS`) for FR on the union of their half-hours, plus `complete` and
`regions_missing` per half-hour.

Rules:
- Sources (MW) and consumption are summed over the regions. A region "reports" a column when it has a value
  for it somewhere in the input (Île-de-France has no nuclear: it does not report `nucleaire` and is not
  waited for). A region is missing at a half-hour when it has no value at all there, or lacks a value for
  a column it reports.
- Missing stays missing, per value: an FR value is null when any region that reports its column is missing
  it (a partial sum would pass for France); `complete` is False and `regions_missing` lists the regions as
  soon as one region is missing anything at that half-hour. Columns no region reports are null.
- production_mw = Σ of the FR production sources, null when any of them is null by a gap. Carbon intensity
  is Σ(P·EF)/ΣP over the FR production sums (domain.carbon: negative production clamped to 0), not a mean
  of regional intensities, and null wherever production is.
- Load factor (TCH, %) of a source: capacity_r = P_r / TCH_r × 100 for each region reporting the source's
  power; FR TCH = Σ P_r / Σ capacity_r × 100 when every such region has P_r > 0 and TCH_r > 0. When every
  such region has P_r = 0 and TCH_r = 0 (solar at night), FR TCH is 0 whatever the capacities. Otherwise
  (a capacity cannot be derived) it is null.
- Inputs are the documents' rounded values; the sums are rounded again to DECIMALS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from domain.aggregate import (
    INTERVAL_VALUE_COLUMNS,
    LOAD_FACTOR_SOURCES,
    SERIES_SOURCES,
    HalfHours,
    carbon_term_arrays,
)
from domain.forecast import epoch_minute
from domain.regions import REGIONS
from domain.sources import PRODUCTION_SOURCES

FR_CODE: Final[str] = "FR"
DECIMALS: Final[int] = 3
_COLUMN: Final[dict[str, int]] = {name: i for i, name in enumerate(INTERVAL_VALUE_COLUMNS)}
_SUMMED: Final[list[int]] = [_COLUMN["consumption_mw"], *(_COLUMN[f"sources.{s}"] for s in SERIES_SOURCES)]
_PRODUCTION: Final[list[int]] = [_COLUMN[f"sources.{s}"] for s in PRODUCTION_SOURCES]
_LOADS: Final[list[tuple[int, int]]] = [
    (_COLUMN[f"sources.{s}"], _COLUMN[f"facteur_charge.{s}"]) for s in LOAD_FACTOR_SOURCES
]
# What a region can be missing: its own numbers, not the derived production and intensity.
_OWN: Final[list[int]] = _SUMMED + [tch for _, tch in _LOADS]


@dataclass(frozen=True, slots=True)
class NationalHalfHours:
    timestamps: list[str]  # local ISO with offset, in time order
    values: np.ndarray  # rows × INTERVAL_VALUE_COLUMNS, NaN where null
    complete: np.ndarray  # bool per row: every region had every value it reports
    regions_missing: list[list[str]]  # per row, region codes missing something, in REGIONS order


def national_half_hours(regions: Mapping[str, HalfHours]) -> NationalHalfHours:
    """FR half-hours from each region's half-hours (a region absent from `regions` is missing everywhere)."""
    minute_of: dict[str, int] = {}
    for half_hours in regions.values():
        for stamp in half_hours.timestamps:
            if stamp not in minute_of:
                minute_of[stamp] = epoch_minute(stamp)
    # Local text does not sort in time across the autumn change (02:00+02:00 < 02:00+01:00): sort on instants.
    timestamps = sorted(minute_of, key=minute_of.__getitem__)
    row_of = {stamp: i for i, stamp in enumerate(timestamps)}
    codes = [r.code for r in REGIONS]
    unknown = set(regions) - set(codes)
    if unknown:
        raise ValueError(f"unknown region codes: {sorted(unknown)}")

    cube = np.full((len(codes), len(timestamps), len(INTERVAL_VALUE_COLUMNS)), np.nan)
    for r, code in enumerate(codes):
        if code in regions:
            half_hours = regions[code]
            rows = [row_of[s] for s in half_hours.timestamps]
            cube[r, rows] = half_hours.values
    present = np.isfinite(cube)
    reports = present.any(axis=1)  # region × column
    absent = ~present[:, :, _OWN].any(axis=2)  # region × row: nothing at all
    gaps = (reports[:, None, :] & ~present) | absent[:, :, None]  # region × row × column
    gaps[:, :, [c for c in range(len(INTERVAL_VALUE_COLUMNS)) if c not in _OWN]] = False  # derived columns

    values = np.full((len(timestamps), len(INTERVAL_VALUE_COLUMNS)), np.nan)
    any_gap = gaps.any(axis=0)  # row × column
    reported = reports.any(axis=0)  # column
    for c in _SUMMED:
        total = np.where(present[:, :, c], cube[:, :, c], 0.0).sum(axis=0)
        values[:, c] = np.where(any_gap[:, c] | ~reported[c], np.nan, total)

    production = values[:, _PRODUCTION]
    production_gap = any_gap[:, _PRODUCTION].any(axis=1)
    if reported[_PRODUCTION].any():  # the sources no region reports are left out, as in a region's own sum
        total = production[:, reported[_PRODUCTION]].sum(axis=1)
        values[:, _COLUMN["production_mw"]] = np.where(production_gap, np.nan, total)
    weighted, basis = carbon_term_arrays(production)
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(basis > 0, weighted / basis, np.nan)
    values[:, _COLUMN["carbon_intensity_g_per_kwh"]] = np.where(production_gap, np.nan, intensity)

    for mw_column, tch_column in _LOADS:
        values[:, tch_column] = _load_factor(cube[:, :, mw_column], cube[:, :, tch_column], reports[:, mw_column])
        values[np.isnan(values[:, mw_column]), tch_column] = np.nan

    missing = gaps.any(axis=2)  # region × row
    regions_missing = [[codes[r] for r in np.flatnonzero(missing[:, t])] for t in range(len(timestamps))]
    rounded = np.round(values, DECIMALS) + 0.0
    return NationalHalfHours(timestamps, rounded, ~missing.any(axis=0), regions_missing)


def _load_factor(power: np.ndarray, tch: np.ndarray, reports: np.ndarray) -> np.ndarray:
    """FR TCH (%) per row from region × row power and TCH, over the regions reporting the power."""
    power, tch = power[reports], tch[reports]
    if not len(power):
        return np.full(power.shape[1], np.nan)
    derivable = (power > 0) & (tch > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = np.where(derivable, power / tch * 100.0, 0.0)
        share = np.where(derivable, power, 0.0).sum(axis=0) / capacity.sum(axis=0) * 100.0
    idle = ((power == 0) & (tch == 0)).all(axis=0)
    return np.where(derivable.all(axis=0), share, np.where(idle, 0.0, np.nan))


def national_intervals(national: NationalHalfHours) -> list[dict[str, Any]]:
    """Interval objects as in the day documents (domain.aggregate), plus `complete` and `regions_missing`."""
    out = []
    for stamp, row, complete, missing in zip(
        national.timestamps, national.values.tolist(), national.complete.tolist(), national.regions_missing, strict=True
    ):
        number = {name: _json_number(v) for name, v in zip(INTERVAL_VALUE_COLUMNS, row, strict=True)}
        out.append(
            {
                "timestamp": stamp,
                "production_mw": number["production_mw"],
                "consumption_mw": number["consumption_mw"],
                "sources": {s: number[f"sources.{s}"] for s in SERIES_SOURCES},
                "facteur_charge": {s: number[f"facteur_charge.{s}"] for s in LOAD_FACTOR_SOURCES},
                "carbon_intensity_g_per_kwh": number["carbon_intensity_g_per_kwh"],
                "complete": complete,
                "regions_missing": missing,
            }
        )
    return out


def _json_number(value: float) -> float | int | None:
    if value != value:  # NaN
        return None
    return int(value) if float(value).is_integer() else value
