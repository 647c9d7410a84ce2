"""The greenest contiguous window of a given duration in a half-hourly carbon-intensity series.

Everything is in UTC instants: a window of 3 h is 6 consecutive half-hours whatever the wall clock does, so
the 46- and 50-half-hour local days of DST need no special case. Rules:
- A window is eligible when every half-hour in it has a value; a half-hour that is None, or absent from the
  series inside the span, is missing (never 0) and makes every window containing it ineligible.
- Means are time-weighted (Σ intensity × 30 min / Σ 30 min; the half-hours are equal, so it is their mean).
- The span mean is over the span's present half-hours; saving = span mean − window mean, in gCO2eq/kWh and in
  % of the span mean (None when the span mean is 0).
- Ranking: lowest mean first, earliest start on ties. The alternatives are chosen greedily: each is the best
  eligible window overlapping none chosen before it.
Pure Python (no numpy): an HTTP route can call it on a forecast document without loading numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

SLOT: Final[timedelta] = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    mean_intensity: float  # gCO2eq/kWh, time-weighted
    saving: float | None  # span mean − window mean, gCO2eq/kWh
    saving_pct: float | None  # saving / span mean × 100


@dataclass(frozen=True, slots=True)
class GreenestWindows:
    span_start: datetime
    span_end: datetime
    span_mean: float | None  # over the span's present half-hours
    best: Window | None  # None when no window is eligible
    alternatives: list[Window]  # the next best non-overlapping windows, best first


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: give an aware instant")
    return instant.astimezone(UTC)


def _grid(points: Sequence[tuple[datetime, float | None]], start: datetime, end: datetime) -> list[float | None]:
    """The span's half-hours in order, None where the series has no value."""
    slots = int((end - start) / SLOT)
    values: list[float | None] = [None] * slots
    seen: set[int] = set()
    for instant, value in points:
        offset = _utc(instant) - start
        if offset % SLOT:
            raise ValueError(f"{instant.isoformat()} is not on the half-hour grid of the span")
        slot = offset // SLOT
        if slot in seen:
            raise ValueError(f"two values for {instant.isoformat()}")
        seen.add(slot)
        if 0 <= slot < slots and value is not None:
            if not math.isfinite(value):
                raise ValueError(f"non-finite intensity at {instant.isoformat()}")
            values[slot] = float(value)
    return values


def greenest_windows(
    points: Sequence[tuple[datetime, float | None]],
    duration: timedelta,
    *,
    span_start: datetime | None = None,
    span_end: datetime | None = None,
    alternatives: int = 0,
) -> GreenestWindows:
    """The best window of `duration` (a positive multiple of 30 min) within [span_start, span_end) — by default
    the series' first half-hour to the end of its last — and up to `alternatives` next best non-overlapping
    ones. `points` are (aware half-hour start, gCO2eq/kWh or None), in any order."""
    if duration <= timedelta(0) or duration % SLOT:
        raise ValueError(f"duration {duration} is not a positive multiple of 30 min")
    if alternatives < 0:
        raise ValueError("alternatives must be >= 0")
    if span_start is None or span_end is None:
        if not points:
            raise ValueError("no points and no span")
        instants = [_utc(i) for i, _ in points]
    start = _utc(span_start) if span_start is not None else min(instants)
    end = _utc(span_end) if span_end is not None else max(instants) + SLOT
    if (end - start) % SLOT or end < start:
        raise ValueError("the span must be a whole number of half-hours")
    values = _grid(points, start, end)
    present = [v for v in values if v is not None]
    span_mean = math.fsum(present) / len(present) if present else None

    width = duration // SLOT
    # Running sums over the present values and a running count of missing ones: O(n) whatever the width.
    sums, gaps = [0.0], [0]
    for v in values:
        sums.append(sums[-1] + (v if v is not None else 0.0))
        gaps.append(gaps[-1] + (v is None))
    candidates = [
        ((sums[i + width] - sums[i]) / width, i) for i in range(len(values) - width + 1) if gaps[i + width] == gaps[i]
    ]
    candidates.sort()

    chosen: list[int] = []
    for _, i in candidates:
        if all(abs(i - j) >= width for j in chosen):  # no overlap with an earlier pick
            chosen.append(i)
            if len(chosen) == alternatives + 1:
                break

    def window(i: int) -> Window:
        # The reported mean is summed exactly (fsum), not read off the running sums.
        mean = math.fsum(v for v in values[i : i + width] if v is not None) / width
        saving = span_mean - mean if span_mean is not None else None
        pct = saving / span_mean * 100 if saving is not None and span_mean else None
        return Window(start + i * SLOT, start + (i + width) * SLOT, mean, saving, pct)

    windows = [window(i) for i in chosen]
    return GreenestWindows(start, end, span_mean, windows[0] if windows else None, windows[1:])
