"""Carbon intensity by hand: per instant, over a period, and the vectorized form the aggregation uses."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.carbon import carbon_intensity, carbon_terms, emissions_tco2eq, intensity, intensity_from_totals
from domain.sources import EMISSION_FACTORS_G_PER_KWH, PRODUCTION_SOURCES

# Factors restated here so that a change in domain/sources.py shows up as a failing case, not a silent shift.
EF = {"nucleaire": 12.0, "thermique": 490.0, "hydraulique": 24.0, "eolien": 11.0, "solaire": 48.0, "bioenergies": 230.0}


def test_the_factors_are_the_cited_ipcc_medians() -> None:
    assert EMISSION_FACTORS_G_PER_KWH == EF and set(EF) == set(PRODUCTION_SOURCES)


CASES: list[tuple[str, dict[str, float | None], float | None]] = [
    ("one source is its own factor", {"thermique": 250.0}, 490.0),
    ("two equal sources average", {"nucleaire": 100.0, "eolien": 100.0}, (12 + 11) / 2),
    ("weighted by power", {"nucleaire": 300.0, "thermique": 100.0}, (300 * 12 + 100 * 490) / 400),
    ("all six", dict.fromkeys(PRODUCTION_SOURCES, 10.0), sum(EF.values()) / 6),
    ("missing sources are left out", {"eolien": 50.0, "solaire": None, "thermique": None}, 11.0),
    ("negative production clamps to zero", {"eolien": 90.0, "thermique": -10.0}, 11.0),
    ("balance flows are not production", {"solaire": 10.0, "pompage": -500.0, "ech_physiques": 900.0}, 48.0),
    ("zero production has no intensity", {"eolien": 0.0, "solaire": 0.0}, None),
    ("only negative production has no intensity", {"thermique": -3.0}, None),
    ("nothing present", {"nucleaire": None}, None),
    ("empty", {}, None),
]


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_intensity_of_one_instant(values: dict[str, float | None], expected: float | None) -> None:
    got = carbon_intensity(values)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_vectorized_form_agrees_with_the_scalar_one(
    values: dict[str, float | None], expected: float | None
) -> None:
    frame = pd.DataFrame([{s: values.get(s, math.nan) for s in PRODUCTION_SOURCES}], dtype="float64")
    got = intensity(*carbon_terms(frame)).iloc[0]
    if expected is None:
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("energy", "tonnes"),
    [
        ({"thermique": 1000.0}, 490.0),  # 1000 MWh × 490 g/kWh = 490 t
        ({"nucleaire": 2000.0, "eolien": 1000.0}, (2000 * 12 + 1000 * 11) / 1000),
        ({"bioenergies": -20.0, "solaire": 100.0}, 4.8),
        ({"eolien": 0.0}, 0.0),  # present and zero: zero emissions, not missing
        ({"eolien": None, "pompage": -30.0}, None),
    ],
)
def test_emissions_of_energy(energy: dict[str, float | None], tonnes: float | None) -> None:
    got = emissions_tco2eq(energy)
    assert got == (pytest.approx(tonnes) if tonnes is not None else None)


def test_period_intensity_is_total_emissions_over_total_basis_not_a_mean_of_intensities() -> None:
    # Day 1: 100 MWh of nuclear (1.2 t); day 2: 300 MWh of gas (147 t).
    assert intensity_from_totals([1.2, 147.0], [100.0, 300.0]) == pytest.approx((1.2 + 147.0) * 1000 / 400)
    assert intensity_from_totals([None, 147.0], [None, 300.0]) == pytest.approx(490.0)
    assert intensity_from_totals([None], [None]) is None
    assert intensity_from_totals([0.0], [0.0]) is None


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(PRODUCTION_SOURCES),
        st.one_of(st.none(), st.floats(min_value=-100, max_value=50000, allow_nan=False)),
    )
)
def test_property_intensity_stays_within_the_factors_of_the_sources_present(values: dict[str, float | None]) -> None:
    got = carbon_intensity(values)
    producing = [s for s, v in values.items() if v is not None and v > 0]
    if not producing:
        assert got is None
    else:
        assert got is not None
        assert min(EF[s] for s in producing) - 1e-9 <= got <= max(EF[s] for s in producing) + 1e-9
