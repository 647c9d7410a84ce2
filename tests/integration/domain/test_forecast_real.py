"""The forecast backtest on the real Hauts-de-France 2024 file (ODRÉ consolidated export, 17 568 half-hours):
the whole year, origins every 23.5 h, MAE per horizon band printed for each model (run with -s to see it).

The file goes through the project's own path — parser (localdev.eco2mix_files), day documents
(domain.aggregate.build_days) — so the series is exactly what a region's documents hold."""

from __future__ import annotations

import time

import numpy as np
import pytest

from domain import forecast as fc
from domain.aggregate import INTERVAL_VALUE_COLUMNS, build_days
from domain.gold_columns import GoldColumns
from localdev.eco2mix_files import parse_eco2mix
from tests.support.real_eco2mix import ECO2MIX

HDF_2024 = ECO2MIX / "odre_regional/hanyuqi83-blip__Energy-4-Climate-Project/eco2mix-regional-cons-def.csv"
VARIABLES = ["carbon_intensity_g_per_kwh", "consumption_mw", "sources.eolien", "sources.thermique"]

pytestmark = pytest.mark.skipif(not HDF_2024.is_file(), reason=f"no {HDF_2024}")


@pytest.fixture(scope="module")
def year() -> dict[str, fc.HalfHourSeries]:
    """Each variable of Hauts-de-France 2024 as the day documents' half-hours hold it."""
    parsed = parse_eco2mix(HDF_2024.name, HDF_2024.read_bytes())
    facts = parsed.facts
    text = np.array([""] * len(facts), dtype=object)
    columns = GoldColumns(
        minutes=np.array([f.minute for f in facts], dtype=np.int64),
        date_locale=text,  # the aggregation takes the day from the instant
        source_name=np.array([f.source for f in facts], dtype=object),
        valeur_mw=np.array([np.nan if f.valeur_mw is None else f.valeur_mw for f in facts]),
        facteur_charge=np.array([np.nan if f.facteur_charge is None else f.facteur_charge for f in facts]),
        loaded_at=np.array(["2025-01-01T00:00:00.000000Z"] * len(facts), dtype=object),
        nature=np.array([f.nature for f in facts], dtype=object),
    )
    _, half_hours = build_days("32", columns)
    assert half_hours.dates[0] == "2024-01-01" and half_hours.dates[-1] == "2024-12-31"
    minutes = [fc.epoch_minute(s) for s in half_hours.timestamps]
    return {
        name: fc.series_from_points(
            [
                (m, None if np.isnan(v) else float(v))
                for m, v in zip(minutes, half_hours.values[:, INTERVAL_VALUE_COLUMNS.index(name)], strict=True)
            ]
        )
        for name in VARIABLES
    }


@pytest.mark.parametrize("variable", VARIABLES)
def test_backtest_over_2024_chooses_per_band_never_worse_than_seasonal_naive(
    year: dict[str, fc.HalfHourSeries], variable: str
) -> None:
    series = year[variable]
    assert len(series.values) == 17_568  # 366 days × 48, the 46 and 50 of DST included
    started = time.perf_counter()
    selection = fc.select_model(series)
    elapsed = time.perf_counter() - started
    result = selection.backtest
    lines = [f"\nHauts-de-France 2024, {variable}: {result.origins} origins every 23.5 h, backtest {elapsed:.2f} s"]
    lines.append(f"{'model':22s}" + "".join(f"{b.name:>20s}" for b in fc.BANDS))
    for model_id, by_band in result.scores.items():
        cells = "".join(f"{s.mae:10.2f} ({s.skill:+.3f})" for s in by_band.values())
        lines.append(f"{model_id:22s}{cells}")
    lines.append(f"{'chosen':22s}" + "".join(f"{selection.chosen[b.name]:>20s}" for b in fc.BANDS))
    print("\n".join(lines))

    assert result.origins >= 360  # the whole year, not a sample
    assert elapsed < 60
    for band in fc.BANDS:
        chosen = result.scores[selection.chosen[band.name]][band.name]
        reference = result.scores[fc.REFERENCE_MODEL][band.name]
        assert chosen.mae is not None and reference.mae is not None
        assert chosen.mae <= reference.mae
        assert chosen.scored == reference.scored > 0.95 * result.origins * (band.last_step - band.first_step + 1)


def test_no_future_data_leaks_into_a_forecast_on_real_data(year: dict[str, fc.HalfHourSeries]) -> None:
    series = year["carbon_intensity_g_per_kwh"]
    origins = fc.backtest_origins(len(series.values))
    full = fc.run_models(series, origins)
    rng = np.random.default_rng(2024)
    for row in (0, len(origins) // 2, len(origins) - 1):
        origin = int(origins[row])
        rewritten = series.values.copy()
        rewritten[origin:] = rng.uniform(0, 500, len(rewritten) - origin)
        got = fc.run_models(fc.HalfHourSeries(series.start_minute, rewritten), origins)
        for model_id, forecasts in full.items():
            np.testing.assert_array_equal(got[model_id][row], forecasts[row], err_msg=model_id)


def test_issuing_the_48_h_after_2024(year: dict[str, fc.HalfHourSeries]) -> None:
    series = year["carbon_intensity_g_per_kwh"]
    selection = fc.select_model(series)
    started = time.perf_counter()
    forecast = fc.issue_forecast(series, selection, floor=0.0)
    doc = fc.forecast_document("32", "2025-01-01T00:05:00Z", {"carbon_intensity_g_per_kwh": forecast}, {})
    elapsed = time.perf_counter() - started
    print(f"\nissue one 48 h forecast (selection done): {elapsed * 1000:.1f} ms")
    assert doc["origin"] == "2024-12-31T23:00:00Z"  # local midnight of 1 January 2025
    assert doc["intervals"][0]["timestamp"] == "2025-01-01T00:00:00+01:00"
    values = [i["carbon_intensity_g_per_kwh"] for i in doc["intervals"]]
    assert all(v["value"] is not None and v["lower"] <= v["value"] <= v["upper"] for v in values)
