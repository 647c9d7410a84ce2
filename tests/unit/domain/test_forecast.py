"""Forecast models, the rolling-origin backtest and the choice it makes: no model reads past its origin, the
baselines are what they say, and the chosen model is never worse than seasonal-naive."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import forecast as fc

START_2024 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) // 60  # a Monday, 01:00 in Paris


def _noisy_daily(days: int, seed: int, missing: float = 0.0) -> fc.HalfHourSeries:
    """A daily shape plus a random walk and noise, some slots missing."""
    rng = np.random.default_rng(seed)
    n = days * fc.SLOTS_PER_DAY
    t = np.arange(n)
    values = 50 + 20 * np.sin(2 * np.pi * t / fc.SLOTS_PER_DAY) + np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, 3, n)
    values[rng.random(n) < missing] = np.nan
    return fc.HalfHourSeries(START_2024, values)


@pytest.mark.parametrize("model", fc.MODELS, ids=lambda m: m.id)
@pytest.mark.parametrize("seed", [0, 1])
def test_rewriting_the_future_of_an_origin_changes_nothing_in_its_forecast(model: fc.Model, seed: int) -> None:
    series = _noisy_daily(30, seed, missing=0.05)
    origins = fc.backtest_origins(len(series.values))
    full = fc.run_models(series, origins, models=[model])[model.id]
    rng = np.random.default_rng(seed + 100)
    for row in rng.choice(len(origins), 5, replace=False):
        origin = int(origins[row])
        rewritten = series.values.copy()
        rewritten[origin:] = rng.normal(1e4, 1e3, len(rewritten) - origin)  # wild values, and NaNs too
        rewritten[origin::7] = np.nan
        # Every origin in one call, as the backtest does: row `row` must not see past its own origin.
        got = fc.run_models(fc.HalfHourSeries(series.start_minute, rewritten), origins, models=[model])[model.id]
        np.testing.assert_array_equal(got[row], full[row])
        assert np.isfinite(full[row]).any()  # a forecast of all NaN would pass the test vacuously


def test_issued_forecast_reads_nothing_after_its_origin() -> None:
    series = _noisy_daily(20, 3)
    selection = fc.select_model(series)
    cut = 15 * fc.SLOTS_PER_DAY + 7
    known = fc.HalfHourSeries(series.start_minute, series.values[:cut])
    # The same history followed by unknown (NaN) slots: the origin is after the last known value.
    padded = fc.HalfHourSeries(series.start_minute, np.concatenate([series.values[:cut], np.full(40, np.nan)]))
    a, b = fc.issue_forecast(known, selection), fc.issue_forecast(padded, selection)
    assert a.origin_minute == b.origin_minute == series.minute(cut)
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.parametrize(
    ("model_id", "step", "lag"),
    [
        ("seasonal_naive_day", 1, 48),
        ("seasonal_naive_day", 48, 48),
        ("seasonal_naive_day", 49, 96),
        ("seasonal_naive_day", 96, 96),
        ("seasonal_naive_week", 1, 336),
        ("seasonal_naive_week", 96, 336),
    ],
)
def test_seasonal_naive_takes_the_latest_same_slot_known_at_the_origin(model_id: str, step: int, lag: int) -> None:
    series = fc.HalfHourSeries(START_2024, np.arange(20 * 48, dtype=float))
    origin = 10 * 48 + 5
    got = fc.run_models(series, np.array([origin]), models=[fc.MODELS_BY_ID[model_id]])[model_id]
    assert got[0, step - 1] == origin + step - 1 - lag


def test_persistence_repeats_the_last_known_value_and_gives_up_after_a_day() -> None:
    values = np.arange(10 * 48, dtype=float)
    values[300:310] = np.nan
    values[400:] = np.nan
    series = fc.HalfHourSeries(START_2024, values)
    model = [fc.MODELS_BY_ID["persistence"]]
    got = fc.run_models(series, np.array([305, 310, 400 + 47, 400 + 48]), models=model)["persistence"]
    assert got[:, 0].tolist()[:3] == [299.0, 299.0, 399.0]
    assert np.isnan(got[3]).all()  # the last value is 24 h old


def test_profile_7d_averages_the_seven_latest_known_days() -> None:
    days = np.repeat(np.arange(10, dtype=float) * 10, 48)  # day d is 10·d all day
    series = fc.HalfHourSeries(START_2024, days)
    origin = 8 * 48 + 24  # day 8, noon UTC
    got = fc.run_models(series, np.array([origin]), models=[fc.MODELS_BY_ID["profile_7d"]])["profile_7d"][0]
    assert got[0] == np.mean([10 * d for d in range(1, 8)])  # day 8's afternoon: days 1-7
    assert got[24] == np.mean([10 * d for d in range(2, 9)])  # day 9's morning: day 8's morning is known
    assert got[48] == np.mean([10 * d for d in range(1, 8)])  # day 9's afternoon: days 1-7 again


def test_anchored_profile_starts_from_the_last_anomaly_and_decays_to_the_profile() -> None:
    values = np.full(10 * 48, 100.0)
    values[8 * 48 - 1] = 160.0  # the last known slot is 60 above its profile
    series = fc.HalfHourSeries(START_2024, values)
    got = fc.run_models(series, np.array([8 * 48]), models=[fc.MODELS_BY_ID["anchored_profile"]])
    path = got["anchored_profile"][0]
    assert path[0] == pytest.approx(100 + 60 * 0.5 ** (1 / 12))
    assert path[11] == pytest.approx(130.0)  # half-life 6 h = 12 slots
    assert path[-2] == pytest.approx(100.0, abs=0.5)  # (the last slot's own profile holds the 160)


def test_climatology_learns_month_day_type_and_half_hour_from_the_past_only() -> None:
    start = int(datetime(2024, 4, 30, 22, tzinfo=UTC).timestamp()) // 60  # 1 May 2024 00:00 in Paris, a holiday
    calendar = fc.calendar_for(start, 20 * 48)
    kinds = calendar.day_cell // 48
    values = 100.0 * kinds + calendar.slot_of_day  # weekday 0-47, saturday 100-147, sunday/holiday 200-247
    series = fc.HalfHourSeries(start, values.astype(float))
    origin = 14 * 48
    got = fc.run_models(series, np.array([origin]), models=[fc.MODELS_BY_ID["climatology"]])["climatology"]
    np.testing.assert_array_equal(got[0], values[origin : origin + 96])


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2024, 5, 1), fc.SUNDAY_OR_HOLIDAY),  # Fête du travail, a Wednesday
        (date(2024, 4, 1), fc.SUNDAY_OR_HOLIDAY),  # Easter Monday (Easter 31 March 2024)
        (date(2024, 5, 9), fc.SUNDAY_OR_HOLIDAY),  # Ascension
        (date(2024, 5, 20), fc.SUNDAY_OR_HOLIDAY),  # Whit Monday
        (date(2024, 5, 2), fc.WEEKDAY),
        (date(2024, 5, 4), fc.SATURDAY),
        (date(2024, 5, 5), fc.SUNDAY_OR_HOLIDAY),
        (date(2024, 11, 11), fc.SUNDAY_OR_HOLIDAY),
    ],
)
def test_day_types_follow_the_french_calendar(day: date, kind: int) -> None:
    noon_utc = int(datetime(day.year, day.month, day.day, 10, tzinfo=UTC).timestamp()) // 60
    assert fc.calendar_for(noon_utc, 1).day_cell[0] // 48 == kind


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2038, date(2038, 4, 25))]
)
def test_easter(year: int, easter: date) -> None:
    assert fc.easter(year) == easter


@pytest.mark.parametrize(("day", "slots"), [(date(2024, 3, 31), 46), (date(2024, 10, 27), 50), (date(2024, 6, 1), 48)])
def test_local_half_hours_of_dst_days(day: date, slots: int) -> None:
    from domain.aggregate import day_instants

    instants = day_instants(day)
    calendar = fc.calendar_for(int(instants[0].timestamp()) // 60, len(instants))
    assert len(instants) == slots
    expected = {46: [*range(4), *range(6, 48)], 50: [*range(6), 4, 5, *range(6, 48)], 48: list(range(48))}[slots]
    assert calendar.slot_of_day.tolist() == expected


def test_a_periodic_series_is_forecast_exactly_and_ties_keep_seasonal_naive() -> None:
    values = np.tile(np.linspace(10, 60, 48), 30)
    selection = fc.select_model(fc.HalfHourSeries(START_2024, values))
    for band in fc.BANDS:
        assert selection.backtest.scores[fc.REFERENCE_MODEL][band.name].mae == 0
        assert selection.chosen[band.name] == fc.REFERENCE_MODEL  # profile_7d is exact too: the reference wins ties


def test_a_persistent_series_chooses_persistence_with_positive_skill() -> None:
    rng = np.random.default_rng(7)
    values = 100 + np.cumsum(rng.normal(0, 2, 40 * 48))  # a random walk: the last value is the best guess
    selection = fc.select_model(fc.HalfHourSeries(START_2024, values))
    assert selection.chosen["0-6h"] == "persistence"
    skill = selection.backtest.scores["persistence"]["0-6h"].skill
    assert skill is not None and skill > 0.3


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), days=st.integers(10, 25), missing=st.sampled_from([0.0, 0.02, 0.3]))
def test_the_chosen_model_is_never_worse_than_seasonal_naive(seed: int, days: int, missing: float) -> None:
    selection = fc.select_model(_noisy_daily(days, seed, missing))
    for band in fc.BANDS:
        chosen = selection.backtest.scores[selection.chosen[band.name]][band.name]
        reference = selection.backtest.scores[fc.REFERENCE_MODEL][band.name]
        if reference.mae is not None:
            assert chosen.mae is not None and chosen.mae <= reference.mae
            assert chosen.scored == reference.scored  # the same pairs


def test_backtest_scores_every_model_on_the_same_pairs() -> None:
    series = _noisy_daily(20, 5, missing=0.1)
    result = fc.backtest(series)
    for band in fc.BANDS:
        assert len({by_band[band.name].scored for by_band in result.scores.values()}) == 1
    assert result.origins == len(fc.backtest_origins(len(series.values)))


def test_backtest_needs_a_week_and_two_days() -> None:
    with pytest.raises(ValueError, match="too short"):
        fc.backtest(fc.HalfHourSeries(START_2024, np.ones(7 * 48 + 95)))
    assert fc.backtest(fc.HalfHourSeries(START_2024, np.ones(7 * 48 + 96))).origins == 1


def test_backtest_needs_the_reference_model() -> None:
    with pytest.raises(ValueError, match="seasonal_naive_day"):
        fc.backtest(_noisy_daily(20, 0), models=[fc.MODELS_BY_ID["persistence"]])


def test_issued_forecast_uses_each_band_model_and_its_residual_quantiles() -> None:
    series = _noisy_daily(20, 11)
    selection = fc.select_model(series)
    got = fc.issue_forecast(series, selection)
    runs = fc.run_models(series, np.array([len(series.values)]))
    for band in fc.BANDS:
        columns = slice(band.first_step - 1, band.last_step)
        chosen = selection.chosen[band.name]
        low, high = selection.interval(band.name) or (np.nan, np.nan)
        np.testing.assert_array_equal(got.values[columns], runs[chosen][0, columns])
        np.testing.assert_allclose(got.lower[columns], got.values[columns] + low)
        np.testing.assert_allclose(got.upper[columns], got.values[columns] + high)
        assert low < 0 < high
        assert set(got.model_by_step[columns]) == {chosen}


def test_floor_raises_values_and_bounds() -> None:
    series = fc.HalfHourSeries(START_2024, np.tile(np.linspace(-5, 5, 48), 20))
    got = fc.issue_forecast(series, fc.select_model(series), floor=0.0)
    assert got.values.min() == 0 and got.lower.min() == 0 and got.values.max() > 0


class _Garbage:
    """An exogenous source that would change any forecast that read it."""

    def series(self, name: str, start_minute: int, count: int) -> np.ndarray | None:
        return np.full(count, 1e9)


def test_models_accept_exogenous_inputs_and_ignore_them_today() -> None:
    series = _noisy_daily(20, 2)
    origins = fc.backtest_origins(len(series.values))
    plain = fc.run_models(series, origins)
    with_inputs = fc.run_models(series, origins, exogenous=_Garbage())
    for model_id, values in plain.items():
        np.testing.assert_array_equal(with_inputs[model_id], values)


def test_series_from_points_places_values_on_the_grid() -> None:
    got = fc.series_from_points([(START_2024 + 90, 3.0), (START_2024, 1.0), (START_2024 + 30, None)])
    assert got.start_minute == START_2024
    np.testing.assert_array_equal(got.values, [1.0, np.nan, np.nan, 3.0])


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "no points"),
        ([(START_2024 + 15, 1.0)], "half-hour"),
        ([(START_2024, 1.0), (START_2024, 2.0)], "two points"),
    ],
)
def test_series_from_points_rejects(points: list[tuple[int, float | None]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fc.series_from_points(points)


@pytest.mark.parametrize(
    ("text", "minute"),
    [
        ("2024-10-27T02:30:00+02:00", int(datetime(2024, 10, 27, 0, 30, tzinfo=UTC).timestamp()) // 60),
        ("2024-10-27T02:30:00+01:00", int(datetime(2024, 10, 27, 1, 30, tzinfo=UTC).timestamp()) // 60),
        ("2024-01-01T00:00:00Z", int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) // 60),
    ],
)
def test_epoch_minute(text: str, minute: int) -> None:
    assert fc.epoch_minute(text) == minute


def test_forecast_document_lists_96_local_half_hours_and_the_models() -> None:
    # Origin 2024-10-26 12:00 UTC: the 48 h cross the autumn DST night (02:00+02:00 then 02:00+01:00).
    origin = int(datetime(2024, 10, 26, 12, tzinfo=UTC).timestamp()) // 60
    history = 20 * 48
    series = fc.HalfHourSeries(origin - 30 * history, _noisy_daily(20, 4).values)
    selection = fc.select_model(series)
    forecast = fc.issue_forecast(series, selection, floor=0.0)
    doc = fc.forecast_document("32", "2024-10-26T12:05:00Z", {"carbon_intensity_g_per_kwh": forecast}, {"x": "g"})
    stamps = [i["timestamp"] for i in doc["intervals"]]
    assert len(stamps) == 96 and doc["origin"] == "2024-10-26T12:00:00Z"
    assert stamps[0] == "2024-10-26T14:00:00+02:00"
    assert "2024-10-27T02:00:00+02:00" in stamps and "2024-10-27T02:00:00+01:00" in stamps
    model = doc["models"]["carbon_intensity_g_per_kwh"]
    assert [b["band"] for b in model["bands"]] == ["0-6h", "6-24h", "24-48h"]
    assert set(model["backtest"]["metrics"]) == {m.id for m in fc.MODELS}
    first = doc["intervals"][0]["carbon_intensity_g_per_kwh"]
    assert first["lower"] <= first["value"] <= first["upper"]


def test_forecast_document_rejects_forecasts_from_different_origins() -> None:
    series = _noisy_daily(20, 4)
    selection = fc.select_model(series)
    a = fc.issue_forecast(series, selection)
    b = fc.issue_forecast(fc.HalfHourSeries(series.start_minute, series.values[:-1]), selection)
    with pytest.raises(ValueError, match="different origins"):
        fc.forecast_document("32", "t", {"a": a, "b": b}, {})
