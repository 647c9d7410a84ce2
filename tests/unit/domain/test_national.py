"""FR from the 12 regions: sums and Σ(P·EF)/ΣP, a region missing anything makes the half-hour incomplete and
nulls what it would have made partial, and the FR load factor only where every capacity is derivable."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.aggregate import INTERVAL_VALUE_COLUMNS, HalfHours, local_midnight
from domain.carbon import carbon_intensity
from domain.national import national_half_hours, national_intervals
from domain.regions import REGIONS
from domain.sources import PRODUCTION_SOURCES

CODES = [r.code for r in REGIONS]
COL = {name: i for i, name in enumerate(INTERVAL_VALUE_COLUMNS)}
STAMPS = ["2024-06-01T00:00:00+02:00", "2024-06-01T00:30:00+02:00"]


def _half_hours(rows: list[dict[str, float | None]], stamps: list[str] = STAMPS) -> HalfHours:
    values = np.full((len(rows), len(INTERVAL_VALUE_COLUMNS)), np.nan)
    for i, row in enumerate(rows):
        for name, value in row.items():
            values[i, COL[name]] = np.nan if value is None else value
    return HalfHours(["2024-06-01"], [len(rows)], stamps, values)


def _full_row(scale: float = 1.0) -> dict[str, float | None]:
    return {
        "consumption_mw": 1000 * scale,
        "sources.nucleaire": 500 * scale,
        "sources.thermique": 100 * scale,
        "sources.eolien": 200 * scale,
        "sources.solaire": 0.0,
        "sources.pompage": -10 * scale,
        "facteur_charge.nucleaire": 50.0,
        "facteur_charge.thermique": 20.0,
        "facteur_charge.eolien": 40.0,
        "facteur_charge.solaire": 0.0,
    }


def _france(**overrides: HalfHours) -> dict[str, HalfHours]:
    regions = {code: _half_hours([_full_row(1 + i), _full_row(1 + i)]) for i, code in enumerate(CODES)}
    return regions | {code.removeprefix("r"): hh for code, hh in overrides.items()}


def test_a_complete_half_hour_sums_the_regions() -> None:
    fr = national_half_hours(_france())
    scale = sum(1 + i for i in range(12))  # 78
    row = fr.values[0]
    assert row[COL["consumption_mw"]] == 1000 * scale
    assert row[COL["sources.nucleaire"]] == 500 * scale
    assert row[COL["production_mw"]] == 800 * scale  # pompage is not production
    assert row[COL["carbon_intensity_g_per_kwh"]] == pytest.approx((500 * 12 + 100 * 490 + 200 * 11) / 800)
    assert fr.complete.tolist() == [True, True] and fr.regions_missing == [[], []]


def test_intensity_is_of_the_summed_production_not_a_mean_of_regions() -> None:
    # A big nuclear region and a small gas one: the mean of their intensities would be (12 + 490) / 2.
    nuclear: dict[str, float | None] = {"consumption_mw": 1.0, "sources.nucleaire": 9000.0, "sources.thermique": 0.0}
    gas: dict[str, float | None] = {"consumption_mw": 1.0, "sources.nucleaire": 0.0, "sources.thermique": 1000.0}
    regions = {code: _half_hours([nuclear if i else gas] * 2) for i, code in enumerate(CODES)}
    got = national_half_hours(regions).values[0, COL["carbon_intensity_g_per_kwh"]]
    expected = carbon_intensity({"nucleaire": 11 * 9000.0, "thermique": 1000.0})
    assert got == pytest.approx(expected, abs=1e-3) and got < 60


def test_a_region_without_a_half_hour_nulls_it_and_is_listed() -> None:
    normandie = _half_hours([_full_row(), {}])  # nothing at all for the second half-hour
    fr = national_half_hours(_france(r28=normandie))
    assert fr.complete.tolist() == [True, False]
    assert fr.regions_missing[1] == ["28"]
    assert np.isnan(fr.values[1]).all()  # not a France without Normandy
    assert np.isfinite(fr.values[0, COL["consumption_mw"]])


def test_a_region_missing_one_source_nulls_that_source_production_and_intensity_only() -> None:
    gap = _full_row() | {"sources.eolien": None, "facteur_charge.eolien": None}
    fr = national_half_hours(_france(r53=_half_hours([_full_row(), gap])))
    row = fr.values[1]
    for name in ("sources.eolien", "facteur_charge.eolien", "production_mw", "carbon_intensity_g_per_kwh"):
        assert np.isnan(row[COL[name]]), name
    assert np.isfinite(row[COL["consumption_mw"]]) and np.isfinite(row[COL["sources.nucleaire"]])
    assert not fr.complete[1] and fr.regions_missing[1] == ["53"]


def test_a_source_a_region_never_reports_is_not_waited_for() -> None:
    no_nuclear = _full_row() | {"sources.nucleaire": None, "facteur_charge.nucleaire": None}
    fr = national_half_hours(_france(r11=_half_hours([no_nuclear, no_nuclear])))
    assert fr.complete.all()
    assert fr.values[0, COL["sources.nucleaire"]] == 500 * (78 - 1)  # Île-de-France (scale 1) adds nothing


def test_a_region_absent_from_the_input_is_missing_everywhere() -> None:
    regions = _france()
    del regions["93"]
    fr = national_half_hours(regions)
    assert not fr.complete.any() and fr.regions_missing == [["93"], ["93"]]
    assert np.isnan(fr.values).all()


def test_columns_no_region_reports_are_null() -> None:
    fr = national_half_hours(_france())
    assert np.isnan(fr.values[:, COL["sources.hydraulique"]]).all()
    assert np.isnan(fr.values[:, COL["facteur_charge.hydraulique"]]).all()


def _loads(tch: list[float | None], power: list[float | None]) -> float:
    regions = {
        code: _half_hours([{"consumption_mw": 1.0, "sources.eolien": p, "facteur_charge.eolien": t}] * 2)
        for code, p, t in zip(CODES, power, tch, strict=True)
    }
    return float(national_half_hours(regions).values[0, COL["facteur_charge.eolien"]])


@pytest.mark.parametrize(
    ("tch", "power", "expected"),
    [
        # capacity = P / TCH × 100: 100 MW at 50 % is 200 MW, 300 MW at 10 % is 3000 MW, …
        ([50.0, 10.0, *[25.0] * 10], [100.0, 300.0, *[50.0] * 10], (400 + 500) / (200 + 3000 + 2000) * 100),
        ([0.0] * 12, [0.0] * 12, 0.0),  # nothing runs anywhere: 0 whatever the capacities
        ([0.0, *[25.0] * 11], [0.0, *[50.0] * 11], math.nan),  # one capacity is not derivable
        ([None, *[25.0] * 11], [10.0, *[50.0] * 11], math.nan),  # one TCH missing
    ],
    ids=["capacity-weighted", "all-idle", "an-idle-region-among-running-ones", "a-tch-missing"],
)
def test_load_factor(tch: list[float | None], power: list[float | None], expected: float) -> None:
    got = _loads(tch, power)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, abs=1e-3)


def test_autumn_half_hours_come_in_time_order_from_regions_with_different_spans() -> None:
    stamps = ["2024-10-27T02:00:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-27T02:00:00+01:00"]
    late = _half_hours([_full_row()], stamps[2:])
    early = _half_hours([_full_row(), _full_row()], stamps[:2])
    regions = {code: (late if i % 2 else early) for i, code in enumerate(CODES)}
    fr = national_half_hours(regions)
    assert fr.timestamps == stamps
    assert fr.regions_missing[0] == CODES[1::2] and fr.regions_missing[2] == CODES[0::2]
    assert local_midnight(date(2024, 10, 27)).isoformat() < stamps[0]


def test_unknown_region_codes_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        national_half_hours({"99": _half_hours([_full_row()] * 2)})


def test_intervals_have_the_day_document_shape_plus_completeness() -> None:
    [first, second] = national_intervals(national_half_hours(_france(r28=_half_hours([_full_row(), {}]))))
    assert set(first) == {
        "timestamp",
        "production_mw",
        "consumption_mw",
        "sources",
        "facteur_charge",
        "carbon_intensity_g_per_kwh",
        "complete",
        "regions_missing",
    }
    # Normandie (scale 4) is replaced by a scale-1 row: 78 − 4 + 1.
    assert first["complete"] is True and first["consumption_mw"] == 75000 and isinstance(first["consumption_mw"], int)
    assert second["complete"] is False and second["regions_missing"] == ["28"] and second["production_mw"] is None


power = st.floats(-50, 5000, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[power] * len(PRODUCTION_SOURCES)), min_size=12, max_size=12))
def test_complete_data_gives_the_sums_and_their_intensity(rows: list[tuple[float, ...]]) -> None:
    regions = {
        code: _half_hours([{f"sources.{s}": v for s, v in zip(PRODUCTION_SOURCES, row, strict=True)}] * 2)
        for code, row in zip(CODES, rows, strict=True)
    }
    got = national_half_hours(regions).values[0]
    sums = {s: math.fsum(row[i] for row in rows) for i, s in enumerate(PRODUCTION_SOURCES)}
    for s in PRODUCTION_SOURCES:
        assert got[COL[f"sources.{s}"]] == pytest.approx(sums[s], abs=1e-3)
    # The FR sums are clamped (a region's auxiliary load nets against another's output), as a region's own are.
    expected = carbon_intensity(sums)
    ci = got[COL["carbon_intensity_g_per_kwh"]]
    assert (expected is None and math.isnan(ci)) or ci == pytest.approx(expected, abs=1e-3)
