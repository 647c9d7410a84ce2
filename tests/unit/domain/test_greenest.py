"""Greenest windows against a brute-force search, DST days included, and the rules stated by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.greenest import SLOT, greenest_windows
from domain.local_time import PARIS

T0 = datetime(2024, 6, 1, 10, tzinfo=UTC)


def _series(values: list[float | None], start: datetime = T0) -> list[tuple[datetime, float | None]]:
    return [(start + i * SLOT, v) for i, v in enumerate(values)]


def _brute_force(values: list[float | None], width: int, count: int) -> list[tuple[int, float]]:
    """(start slot, mean) of the windows picked one after the other: each the lowest mean (then earliest) among
    the fully present windows overlapping no earlier pick; every mean summed from its own slice."""
    picked: list[tuple[int, float]] = []
    while len(picked) < count:
        best: tuple[float, int] | None = None
        for i in range(len(values) - width + 1):
            part = values[i : i + width]
            if any(v is None for v in part) or any(i < j + width and j < i + width for j, _ in picked):
                continue
            mean = math.fsum(v for v in part if v is not None) / width
            if best is None or (mean, i) < best:
                best = (mean, i)
        if best is None:
            break
        picked.append((best[1], best[0]))
    return picked


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), PARIS).astimezone(UTC)


# Integral intensities: every sum is exact, so the ranking cannot hinge on rounding.
intensity = st.one_of(st.none(), st.integers(0, 600).map(float))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(intensity, min_size=1, max_size=120),
    width=st.integers(1, 12),
    alternatives=st.integers(0, 4),
)
def test_matches_brute_force(values: list[float | None], width: int, alternatives: int) -> None:
    got = greenest_windows(_series(values), width * SLOT, alternatives=alternatives)
    expected = _brute_force(values, width, alternatives + 1)
    windows = [w for w in [got.best, *got.alternatives] if w is not None]
    assert [(w.start, w.end, w.mean_intensity) for w in windows] == [
        (T0 + i * SLOT, T0 + (i + width) * SLOT, mean) for i, mean in expected
    ]
    present = [v for v in values if v is not None]
    assert got.span_mean == (math.fsum(present) / len(present) if present else None)


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from([date(2024, 3, 30), date(2024, 3, 31), date(2024, 10, 26), date(2024, 10, 27)]),
    days=st.integers(1, 3),
    data=st.data(),
)
def test_spans_of_local_days_across_dst_match_brute_force(first: date, days: int, data: st.DataObject) -> None:
    start, end = _local_midnight_utc(first), _local_midnight_utc(first + timedelta(days=days))
    slots = int((end - start) / SLOT)
    values = data.draw(st.lists(intensity, min_size=slots, max_size=slots))
    width = data.draw(st.integers(1, 8))
    got = greenest_windows(_series(values, start), width * SLOT, span_start=start, span_end=end, alternatives=2)
    expected = _brute_force(values, width, 3)
    windows = [w for w in [got.best, *got.alternatives] if w is not None]
    assert [(w.start, w.mean_intensity) for w in windows] == [(start + i * SLOT, m) for i, m in expected]
    assert all(w.end - w.start == width * SLOT for w in windows)  # 30-min multiples in UTC, DST or not


@pytest.mark.parametrize(("day", "slots"), [(date(2024, 3, 31), 46), (date(2024, 10, 27), 50), (date(2024, 6, 1), 48)])
def test_a_local_day_span_has_its_46_48_or_50_half_hours(day: date, slots: int) -> None:
    start, end = _local_midnight_utc(day), _local_midnight_utc(day + timedelta(days=1))
    values: list[float | None] = [100.0] * slots
    values[-1] = 10.0  # the day's last half-hour, 23:30 local
    got = greenest_windows(_series(values, start), SLOT, span_start=start, span_end=end)
    assert got.best is not None and got.best.start.astimezone(PARIS).time() == time(23, 30)


def test_the_autumn_night_window_spans_the_repeated_hour() -> None:
    start = _local_midnight_utc(date(2024, 10, 27))
    values: list[float | None] = [300.0] * 50
    values[4:8] = [20.0, 20.0, 20.0, 20.0]  # 02:00+02:00 … 02:30+01:00: two wall-clock hours that repeat
    got = greenest_windows(_series(values, start), timedelta(hours=2))
    assert got.best is not None
    assert got.best.start.astimezone(PARIS).isoformat() == "2024-10-27T02:00:00+02:00"
    assert got.best.end.astimezone(PARIS).isoformat() == "2024-10-27T03:00:00+01:00"


CASES: list[tuple[str, list[float | None], int, int | None, float | None]] = [
    ("lowest pair", [5.0, 3.0, 1.0, 4.0], 2, 1, 2.0),
    ("missing excludes its windows", [9.0, None, 1.0, 1.0, 8.0], 2, 2, 1.0),
    ("a missing value is not a zero", [50.0, None, 60.0], 1, 0, 50.0),
    ("ties go to the earliest", [2.0, 2.0, 2.0], 1, 0, 2.0),
    ("all missing: no window", [None, None], 1, None, None),
    ("wider than every gap-free run", [1.0, None, 1.0], 2, None, None),
]


@pytest.mark.parametrize(("values", "width", "start", "mean"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_best_window_by_hand(values: list[float | None], width: int, start: int | None, mean: float | None) -> None:
    got = greenest_windows(_series(values), width * SLOT)
    if start is None:
        assert got.best is None
    else:
        assert got.best is not None and (got.best.start, got.best.mean_intensity) == (T0 + start * SLOT, mean)


def test_saving_against_the_span_mean() -> None:
    got = greenest_windows(_series([100.0, 40.0, None, 160.0]), SLOT)
    assert got.span_mean == 100.0  # the missing half-hour is left out, not counted as 0
    assert got.best is not None and (got.best.saving, got.best.saving_pct) == (60.0, 60.0)


def test_a_zero_span_mean_has_no_percentage() -> None:
    got = greenest_windows(_series([0.0, 0.0]), SLOT)
    assert got.best is not None and got.best.saving == 0.0 and got.best.saving_pct is None


def test_a_span_narrower_than_the_series_and_half_hours_it_lacks() -> None:
    points = _series([1.0, 50.0, 60.0, 0.0])
    got = greenest_windows(points, SLOT, span_start=T0 + SLOT, span_end=T0 + 5 * SLOT, alternatives=5)
    # Slot 4 (T0 + 2 h) is in the span but not in the series: missing, not eligible. Slot 0 is outside.
    assert [(w.start, w.mean_intensity) for w in [got.best, *got.alternatives] if w] == [
        (T0 + 3 * SLOT, 0.0),
        (T0 + 1 * SLOT, 50.0),
        (T0 + 2 * SLOT, 60.0),
    ]


def test_paris_instants_come_back_in_utc() -> None:
    local = [(T0.astimezone(PARIS) + i * SLOT, v) for i, v in enumerate([3.0, 1.0])]
    got = greenest_windows(local, SLOT)
    assert got.best is not None and got.best.start == T0 + SLOT and got.best.start.tzinfo == UTC


@pytest.mark.parametrize(
    ("points", "duration", "kwargs", "message"),
    [
        (_series([1.0]), timedelta(minutes=45), {}, "multiple of 30 min"),
        (_series([1.0]), timedelta(0), {}, "multiple of 30 min"),
        ([(T0 + timedelta(minutes=10), 1.0)], SLOT, {"span_start": T0, "span_end": T0 + SLOT}, "grid"),
        ([(T0, 1.0), (T0, 2.0)], SLOT, {}, "two values"),
        ([(T0.replace(tzinfo=None), 1.0)], SLOT, {}, "naive"),
        ([], SLOT, {}, "no points"),
        (_series([1.0]), SLOT, {"alternatives": -1}, "alternatives"),
        ([(T0, math.nan)], SLOT, {}, "non-finite"),
    ],
)
def test_rejects(points: list[tuple[datetime, float | None]], duration: timedelta, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        greenest_windows(points, duration, **kwargs)
