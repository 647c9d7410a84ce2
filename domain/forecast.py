"""48-hour forecasts of a half-hourly series (carbon intensity, a source's MW, consumption) without weather.

Series are arrays on the UTC half-hour grid (`HalfHourSeries`: first instant + values, NaN = missing), so a
DST day is just 46 or 50 consecutive slots. A forecast issued at origin `o` (an index: the first half-hour
not yet known) predicts slots o … o+H-1 and reads ONLY slots < o; every model below is written that way and
tests/unit/domain/test_forecast.py rewrites the future to prove it.

Candidate models (each `(values, origins, horizon, calendar) -> (len(origins), horizon)` array):
- seasonal_naive_day: the same slot 24 h earlier (48 slots: UTC instants, so on the day after a DST change it
  is the wall-clock hour ±1), or 48 h earlier once the horizon passes 24 h: the value must be known at `o`.
- seasonal_naive_week: the same slot 168 h earlier.
- climatology: mean of the slot's cell region × month × day type (weekday / saturday / sunday-or-holiday) ×
  local half-hour of day, over the history before `o`; an empty cell falls back to day type × half-hour,
  then to half-hour of day.
- persistence: the last known value (at most 24 h old).
- profile_7d: mean of the same slot on the 7 latest days known at `o`.
- anchored_profile: profile_7d plus the latest anomaly (value − its own profile_7d) decaying with a half-life
  of 6 h (chosen a priori, not fitted on the backtest).
Exogenous inputs (weather …) have a port, `ExogenousInputs`; the models accept it and ignore it today.

Selection: a rolling-origin backtest (origins every `origin_step` slots, default 47 = 23.5 h so that origins
cycle through every half-hour of the day; each forecast uses only data before its origin) scores every
model on the same (origin, step) pairs — those where the actual and every model's forecast exist — and for
each horizon band keeps the model with the lowest MAE. seasonal_naive_day is a candidate and wins ties, so the
chosen model is never worse than it in any band. Skill = 1 − MAE / MAE(seasonal_naive_day). Prediction
intervals: the forecast plus the empirical 10 % / 90 % quantiles of the chosen model's backtest residuals
(actual − forecast) in the band. The published metrics are those of the backtest that chose the model
(in-sample for the choice among 6 candidates; the backtest itself never sees the future).

numpy is imported at module level: this module runs in the materialization, not in HTTP triggers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Protocol

import numpy as np

from domain.local_time import PARIS

SLOT_MINUTES: Final[int] = 30
SLOTS_PER_DAY: Final[int] = 24 * 60 // SLOT_MINUTES  # in UTC instants: always 48
HORIZON_SLOTS: Final[int] = 48 * 60 // SLOT_MINUTES  # 48 h
DEFAULT_ORIGIN_STEP: Final[int] = 47  # 23.5 h: successive origins move back half an hour in the day
MIN_HISTORY_SLOTS: Final[int] = 7 * SLOTS_PER_DAY  # every model has its inputs after one week
PERSISTENCE_MAX_AGE: Final[int] = SLOTS_PER_DAY
ANOMALY_HALF_LIFE_SLOTS: Final[int] = 12  # 6 h
QUANTILES: Final[tuple[float, float]] = (0.1, 0.9)
REFERENCE_MODEL: Final[str] = "seasonal_naive_day"
SELECTION_MODEL_ID: Final[str] = "banded-selection"
SELECTION_MODEL_VERSION: Final[str] = "1"


@dataclass(frozen=True, slots=True)
class Band:
    """Horizon band: steps first_step … last_step (1-based; step s covers [o + (s-1)·30 min, o + s·30 min))."""

    name: str
    first_step: int
    last_step: int


BANDS: Final[tuple[Band, ...]] = (Band("0-6h", 1, 12), Band("6-24h", 13, 48), Band("24-48h", 49, 96))


@dataclass(frozen=True, slots=True)
class HalfHourSeries:
    """Values on the UTC half-hour grid: values[i] is the half-hour starting at start_minute + 30·i."""

    start_minute: int  # UTC epoch minutes, a multiple of 30
    values: np.ndarray  # float64, NaN = missing

    def __post_init__(self) -> None:
        if self.start_minute % SLOT_MINUTES:
            raise ValueError(f"start_minute {self.start_minute} is not a half-hour start")

    def minute(self, index: int) -> int:
        return self.start_minute + SLOT_MINUTES * index


def series_from_points(points: Sequence[tuple[int, float | None]]) -> HalfHourSeries:
    """A series from (UTC epoch minute, value) pairs in any order; slots between them with no point are NaN."""
    if not points:
        raise ValueError("no points")
    minutes = np.array([m for m, _ in points], dtype=np.int64)
    if (minutes % SLOT_MINUTES).any():
        raise ValueError("every point must start a half-hour")
    start = int(minutes.min())
    slots = (minutes - start) // SLOT_MINUTES
    if len(np.unique(slots)) != len(slots):
        raise ValueError("two points for one half-hour")
    values = np.full(int(slots.max()) + 1, np.nan)
    values[slots] = [np.nan if v is None else v for _, v in points]
    return HalfHourSeries(start, values)


def epoch_minute(timestamp: str) -> int:
    """UTC epoch minute of an ISO timestamp with offset (`2024-10-27T02:30:00+01:00`, `…Z`)."""
    instant = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"timestamp without offset: {timestamp!r}")
    return int(instant.timestamp()) // 60


# --- calendar ---------------------------------------------------------------------------------------------


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_holidays(year: int) -> frozenset[date]:
    """The 11 national public holidays of metropolitan France (Alsace-Moselle's 2 extra days are not national)."""
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    sunday = easter(year)
    moving = [sunday + timedelta(days=n) for n in (1, 39, 50)]  # Easter Monday, Ascension, Whit Monday
    return frozenset([date(year, m, d) for m, d in fixed] + moving)


WEEKDAY, SATURDAY, SUNDAY_OR_HOLIDAY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Calendar:
    """Per slot of a grid: climatology cell keys from the Europe/Paris wall clock."""

    cell: np.ndarray  # month × day type × half-hour of day, 0 … 12·3·48-1
    day_cell: np.ndarray  # day type × half-hour of day, 0 … 3·48-1
    slot_of_day: np.ndarray  # local half-hour of day, 0 … 47 (the repeated autumn hour reuses 02:00/02:30)


@lru_cache(maxsize=8)  # the variables of one region share it: building it costs more than a backtest
def calendar_for(start_minute: int, count: int) -> Calendar:
    """Keys of `count` slots from `start_minute`; local time from the tz database, so DST days are natural.
    The arrays are read-only: the calendar is cached."""
    instants = [datetime.fromtimestamp((start_minute + SLOT_MINUTES * i) * 60, UTC) for i in range(0, count)]
    cells = np.empty(count, dtype=np.int64)
    day_cells = np.empty(count, dtype=np.int64)
    slots = np.empty(count, dtype=np.int64)
    for i, instant in enumerate(instants):
        local = instant.astimezone(PARIS)
        day = local.date()
        if day.weekday() == 6 or day in french_holidays(day.year):
            kind = SUNDAY_OR_HOLIDAY
        elif day.weekday() == 5:
            kind = SATURDAY
        else:
            kind = WEEKDAY
        slot = local.hour * 2 + local.minute // SLOT_MINUTES
        slots[i] = slot
        day_cells[i] = kind * SLOTS_PER_DAY + slot
        cells[i] = ((local.month - 1) * 3 + kind) * SLOTS_PER_DAY + slot
    for array in (cells, day_cells, slots):
        array.flags.writeable = False
    return Calendar(cells, day_cells, slots)


# --- exogenous inputs port --------------------------------------------------------------------------------


class ExogenousInputs(Protocol):
    """Port for inputs beyond the series itself (weather forecasts …): a named series on the same grid.

    No source exists today: models accept one and ignore it, so adding one changes no signature."""

    def series(self, name: str, start_minute: int, count: int) -> np.ndarray | None: ...


class NoExogenousInputs:
    """The only adapter today: nothing is known beyond the series."""

    def series(self, name: str, start_minute: int, count: int) -> np.ndarray | None:
        return None


# --- models -----------------------------------------------------------------------------------------------

ModelFn = Callable[[np.ndarray, np.ndarray, int, Calendar, ExogenousInputs | None], np.ndarray]


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[index], NaN where the index falls before the series."""
    out = values[np.clip(index, 0, None)]
    return np.where(index >= 0, out, np.nan)


def _lagged(values: np.ndarray, origins: np.ndarray, horizon: int, period: int, extra_periods: int = 0) -> np.ndarray:
    """The value `period`·(⌈step/period⌉ + extra_periods) slots before each target: the latest same-phase slot
    known at the origin (step = k+1 for column k), `extra_periods` further back."""
    steps = np.arange(1, horizon + 1)
    back = period * (-(-steps // period) + extra_periods)
    return _take(values, origins[:, None] + steps[None, :] - 1 - back[None, :])


def seasonal_naive_day(
    values: np.ndarray, origins: np.ndarray, horizon: int, calendar: Calendar, exogenous: ExogenousInputs | None
) -> np.ndarray:
    return _lagged(values, origins, horizon, SLOTS_PER_DAY)


def seasonal_naive_week(
    values: np.ndarray, origins: np.ndarray, horizon: int, calendar: Calendar, exogenous: ExogenousInputs | None
) -> np.ndarray:
    return _lagged(values, origins, horizon, 7 * SLOTS_PER_DAY)


def persistence(
    values: np.ndarray, origins: np.ndarray, horizon: int, calendar: Calendar, exogenous: ExogenousInputs | None
) -> np.ndarray:
    present = np.where(np.isfinite(values), np.arange(len(values)), -1)
    latest = np.maximum.accumulate(present)  # index of the last present value at or before each slot
    before = np.minimum(origins - 1, len(values) - 1)  # only slots < origin
    last = np.where(before >= 0, latest[np.clip(before, 0, None)], -1)
    fresh = (last >= 0) & (before - last < PERSISTENCE_MAX_AGE)
    value = np.where(fresh, values[np.clip(last, 0, None)], np.nan)
    return np.repeat(value[:, None], horizon, axis=1)


def _profile(values: np.ndarray, origins: np.ndarray, horizon: int, first_step: int = 1) -> np.ndarray:
    """Mean of the same slot on the 7 latest days known at the origin (missing days left out)."""
    stack = np.stack([_lagged(values, origins, horizon + first_step - 1, SLOTS_PER_DAY, d) for d in range(7)])
    with np.errstate(invalid="ignore"):
        sums = np.nansum(stack, axis=0)
        counts = np.isfinite(stack).sum(axis=0)
        profile = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return profile[:, first_step - 1 :]


def profile_7d(
    values: np.ndarray, origins: np.ndarray, horizon: int, calendar: Calendar, exogenous: ExogenousInputs | None
) -> np.ndarray:
    return _profile(values, origins, horizon)


def anchored_profile(
    values: np.ndarray, origins: np.ndarray, horizon: int, calendar: Calendar, exogenous: ExogenousInputs | None
) -> np.ndarray:
    profile = _profile(values, origins, horizon)
    # The last known slot o-1 against its own 7-day profile (the days before it: all known at o).
    anchor_profile = _profile(values, origins - 1, 1)[:, 0]
    anomaly = np.nan_to_num(_take(values, origins - 1) - anchor_profile, nan=0.0)
    decay = 0.5 ** (np.arange(1, horizon + 1) / ANOMALY_HALF_LIFE_SLOTS)
    return profile + anomaly[:, None] * decay[None, :]


def climatology(
    values: np.ndarray, origins: np.ndarray, horizon: int, calendar: Calendar, exogenous: ExogenousInputs | None
) -> np.ndarray:
    """Cell means over slots < origin; origins are taken in increasing order and the tables grow with them."""
    order = np.argsort(origins, kind="stable")
    levels = [
        (calendar.cell, 12 * 3 * SLOTS_PER_DAY),
        (calendar.day_cell, 3 * SLOTS_PER_DAY),
        (calendar.slot_of_day, SLOTS_PER_DAY),
    ]
    sums = [np.zeros(size) for _, size in levels]
    counts = [np.zeros(size) for _, size in levels]
    out = np.full((len(origins), horizon), np.nan)
    steps = np.arange(horizon)
    added = 0
    for row in order:
        origin = int(origins[row])
        upto = min(origin, len(values))
        if upto > added:
            chunk = values[added:upto]
            keep = np.isfinite(chunk)
            for (keys, _), total, count in zip(levels, sums, counts, strict=True):
                np.add.at(total, keys[added:upto][keep], chunk[keep])
                np.add.at(count, keys[added:upto][keep], 1.0)
            added = upto
        targets = origin + steps
        forecast = np.full(horizon, np.nan)
        for (keys, _), total, count in reversed(list(zip(levels, sums, counts, strict=True))):
            cell = keys[targets]
            known = count[cell] > 0
            forecast = np.where(known, total[cell] / np.maximum(count[cell], 1.0), forecast)  # finest known wins
        out[row] = forecast
    return out


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    version: str
    description: str
    predict: ModelFn


MODELS: Final[tuple[Model, ...]] = (
    Model(REFERENCE_MODEL, "1", "same half-hour 24 h earlier (48 h beyond a 24 h horizon)", seasonal_naive_day),
    Model("seasonal_naive_week", "1", "same half-hour 168 h earlier", seasonal_naive_week),
    Model(
        "climatology",
        "1",
        "mean by month × day type (weekday/saturday/sunday-holiday) × local half-hour, over the history",
        climatology,
    ),
    Model("persistence", "1", "last known value (at most 24 h old)", persistence),
    Model("profile_7d", "1", "mean of the same half-hour over the 7 latest known days", profile_7d),
    Model(
        "anchored_profile",
        "1",
        "profile_7d plus the latest anomaly decaying with a 6 h half-life",
        anchored_profile,
    ),
)
MODELS_BY_ID: Final[dict[str, Model]] = {m.id: m for m in MODELS}


# --- backtest and selection -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BandScore:
    mae: float | None  # None when the band has no scored pair
    skill: float | None  # 1 − MAE / MAE(seasonal_naive_day); None when that MAE is 0 or missing
    scored: int  # (origin, step) pairs scored
    residual_quantiles: tuple[float, float] | None  # QUANTILES of actual − forecast


@dataclass(frozen=True, slots=True)
class Backtest:
    origins: int
    origin_step: int
    first_origin_minute: int
    last_origin_minute: int
    scores: dict[str, dict[str, BandScore]]  # model id → band name → score


@dataclass(frozen=True, slots=True)
class Selection:
    """Which model forecasts each band, with the backtest that chose it."""

    chosen: dict[str, str]  # band name → model id
    backtest: Backtest

    def interval(self, band: str) -> tuple[float, float] | None:
        return self.backtest.scores[self.chosen[band]][band].residual_quantiles


def backtest_origins(length: int, horizon: int = HORIZON_SLOTS, origin_step: int = DEFAULT_ORIGIN_STEP) -> np.ndarray:
    """Origins from one week of history on, every `origin_step` slots, each with its whole horizon observed."""
    return np.arange(MIN_HISTORY_SLOTS, length - horizon + 1, origin_step, dtype=np.int64)


def run_models(
    series: HalfHourSeries,
    origins: np.ndarray,
    horizon: int = HORIZON_SLOTS,
    models: Sequence[Model] = MODELS,
    exogenous: ExogenousInputs | None = None,
) -> dict[str, np.ndarray]:
    """Each model's forecasts (len(origins) × horizon) from `origins`, each reading only the slots before it."""
    origins = np.asarray(origins, dtype=np.int64)
    # One length per series (not per set of origins), so that a backtest and the issue share the cached calendar.
    calendar = calendar_for(series.start_minute, max(len(series.values), int(origins.max(initial=0))) + horizon)
    return {m.id: m.predict(series.values, origins, horizon, calendar, exogenous) for m in models}


def backtest(
    series: HalfHourSeries,
    origin_step: int = DEFAULT_ORIGIN_STEP,
    models: Sequence[Model] = MODELS,
    bands: Sequence[Band] = BANDS,
    exogenous: ExogenousInputs | None = None,
) -> Backtest:
    """Rolling-origin backtest of `models` over `series` (see the module docstring)."""
    if REFERENCE_MODEL not in {m.id for m in models}:
        raise ValueError(f"{REFERENCE_MODEL} must be a candidate: skill is measured against it")
    horizon = max(b.last_step for b in bands)
    origins = backtest_origins(len(series.values), horizon, origin_step)
    if not len(origins):
        raise ValueError(f"too short to backtest: {len(series.values)} slots, need {MIN_HISTORY_SLOTS + horizon}")
    forecasts = run_models(series, origins, horizon, models, exogenous)
    actual = series.values[origins[:, None] + np.arange(horizon)[None, :]]
    # Every model is scored on the same pairs, so that the MAEs compare.
    scored = np.isfinite(actual) & np.logical_and.reduce([np.isfinite(f) for f in forecasts.values()])
    scores: dict[str, dict[str, BandScore]] = {m.id: {} for m in models}
    for band in bands:
        columns = slice(band.first_step - 1, band.last_step)
        mask = scored[:, columns]
        maes: dict[str, float | None] = {}
        for model in models:
            residuals = (actual - forecasts[model.id])[:, columns][mask]
            maes[model.id] = float(np.mean(np.abs(residuals))) if len(residuals) else None
            low, high = np.quantile(residuals, QUANTILES) if len(residuals) else (np.nan, np.nan)
            quantiles = (float(low), float(high)) if len(residuals) else None
            scores[model.id][band.name] = BandScore(maes[model.id], None, int(mask.sum()), quantiles)
        reference = maes[REFERENCE_MODEL]
        for model in models:
            mae = maes[model.id]
            skill = 1 - mae / reference if mae is not None and reference else None
            old = scores[model.id][band.name]
            scores[model.id][band.name] = BandScore(old.mae, skill, old.scored, old.residual_quantiles)
    return Backtest(
        origins=len(origins),
        origin_step=origin_step,
        first_origin_minute=series.minute(int(origins[0])),
        last_origin_minute=series.minute(int(origins[-1])),
        scores=scores,
    )


def choose(result: Backtest, bands: Sequence[Band] = BANDS) -> Selection:
    """Per band, the lowest MAE; seasonal_naive_day first on ties and wherever nothing was scored."""
    chosen: dict[str, str] = {}
    for band in bands:
        best = REFERENCE_MODEL
        for model_id, by_band in result.scores.items():
            mae, best_mae = by_band[band.name].mae, result.scores[best][band.name].mae
            if mae is not None and best_mae is not None and mae < best_mae:
                best = model_id
        chosen[band.name] = best
    return Selection(chosen, result)


def select_model(
    series: HalfHourSeries, origin_step: int = DEFAULT_ORIGIN_STEP, exogenous: ExogenousInputs | None = None
) -> Selection:
    """Backtest every candidate over `series` and choose per band."""
    return choose(backtest(series, origin_step, exogenous=exogenous))


# --- issuing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forecast:
    origin_minute: int  # UTC epoch minute of the first forecast half-hour (the end of the known data)
    values: np.ndarray  # HORIZON_SLOTS, NaN where no forecast
    lower: np.ndarray
    upper: np.ndarray
    model_by_step: tuple[str, ...]
    selection: Selection = field(repr=False)


def issue_forecast(
    series: HalfHourSeries,
    selection: Selection,
    bands: Sequence[Band] = BANDS,
    floor: float | None = None,
    exogenous: ExogenousInputs | None = None,
) -> Forecast:
    """The forecast from the end of the known data (the slot after the last present value), each band by its
    chosen model, with the band's residual quantiles as the interval; values below `floor` are raised to it."""
    present = np.flatnonzero(np.isfinite(series.values))
    if not len(present):
        raise ValueError("no known value to forecast from")
    origin = int(present[-1]) + 1  # trailing nulls (today's half-hours not yet in Gold) are not data
    horizon = max(b.last_step for b in bands)
    needed = {selection.chosen[b.name] for b in bands}
    runs = run_models(series, np.array([origin]), horizon, [MODELS_BY_ID[m] for m in needed], exogenous)
    values, lower, upper = (np.full(horizon, np.nan) for _ in range(3))
    model_by_step = [""] * horizon
    for band in bands:
        model_id = selection.chosen[band.name]
        columns = slice(band.first_step - 1, band.last_step)
        values[columns] = runs[model_id][0, columns]
        quantiles = selection.interval(band.name)
        if quantiles is not None:
            lower[columns] = values[columns] + quantiles[0]
            upper[columns] = values[columns] + quantiles[1]
        model_by_step[columns] = [model_id] * (band.last_step - band.first_step + 1)
    if floor is not None:
        values, lower, upper = (np.where(np.isfinite(a), np.maximum(a, floor), a) for a in (values, lower, upper))
    return Forecast(series.minute(origin), values, lower, upper, tuple(model_by_step), selection)


# --- documents --------------------------------------------------------------------------------------------


def _number(value: float | None, decimals: int = 3) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value, decimals) + 0.0
    return int(rounded) if rounded.is_integer() else rounded


def _utc_text(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local_text(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).astimezone(PARIS).isoformat()


def model_metadata(selection: Selection, bands: Sequence[Band] = BANDS) -> dict[str, Any]:
    """The model part of a forecast document: chosen model per band, its backtest metrics, every candidate's."""
    result = selection.backtest
    return {
        "id": SELECTION_MODEL_ID,
        "version": SELECTION_MODEL_VERSION,
        "bands": [
            {
                "band": band.name,
                "first_step": band.first_step,
                "last_step": band.last_step,
                "model_id": (chosen := selection.chosen[band.name]),
                "model_version": MODELS_BY_ID[chosen].version,
                "mae": _number(result.scores[chosen][band.name].mae),
                "mae_seasonal_naive": _number(result.scores[REFERENCE_MODEL][band.name].mae),
                "skill": _number(result.scores[chosen][band.name].skill, 4),
            }
            for band in bands
        ],
        "prediction_interval": {
            "quantiles": list(QUANTILES),
            "method": "forecast + empirical quantiles of the chosen model's backtest residuals in the band",
        },
        "backtest": {
            "origins": result.origins,
            "origin_step_minutes": result.origin_step * SLOT_MINUTES,
            "first_origin": _utc_text(result.first_origin_minute),
            "last_origin": _utc_text(result.last_origin_minute),
            "metrics": {
                model_id: {
                    band: {"mae": _number(s.mae), "skill": _number(s.skill, 4), "scored": s.scored}
                    for band, s in by_band.items()
                }
                for model_id, by_band in result.scores.items()
            },
        },
    }


def forecast_document(
    region_code: str, issued_at: str, forecasts: Mapping[str, Forecast], units: Mapping[str, str]
) -> dict[str, Any]:
    """One region's (or FR's) forecast document: `forecasts` by variable name (e.g. carbon_intensity_g_per_kwh,
    consumption_mw, sources.eolien), all from the same origin. `issued_at` is given by the caller (UTC ISO),
    as this module reads no clock."""
    if not forecasts:
        raise ValueError("no forecast")
    origins = {f.origin_minute for f in forecasts.values()}
    if len(origins) != 1:
        raise ValueError(f"forecasts from different origins: {sorted(origins)}")
    [origin] = origins
    horizon = len(next(iter(forecasts.values())).values)
    intervals = [
        {
            "timestamp": _local_text(origin + SLOT_MINUTES * step),
            **{
                name: {
                    "value": _number(float(f.values[step])),
                    "lower": _number(float(f.lower[step])),
                    "upper": _number(float(f.upper[step])),
                }
                for name, f in forecasts.items()
            },
        }
        for step in range(horizon)
    ]
    return {
        "doc_type": "forecast",
        "region_code": region_code,
        "issued_at": issued_at,
        "origin": _utc_text(origin),
        "interval_minutes": SLOT_MINUTES,
        "horizon_hours": horizon * SLOT_MINUTES // 60,
        "units": dict(units),
        "models": {name: model_metadata(f.selection) for name, f in forecasts.items()},
        "intervals": intervals,
    }
