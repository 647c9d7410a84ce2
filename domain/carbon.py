"""Carbon intensity of regional production: CI = Σ(P_s × EF_s) / Σ P_s over the production sources present.

Factors are the lifecycle medians of `domain.sources.EMISSION_FACTORS_G_PER_KWH` (gCO2eq/kWh).
A negative production value (a plant drawing more for its auxiliaries than it generates, as éCO2mix
reports for thermique or bioenergies at times) is clamped to 0: it is load, not negative emissions, and
keeping it would let the weights go negative and push the intensity outside the range of the factors.
Pumping and exchanges are not production and are not counted. CI is null when no production source has
a value or the clamped production sums to 0.

Over a period: CI = Σ_t Σ_s (P × EF × dt) / Σ_t Σ_s (P × dt), i.e. emissions over the energy that caused
them; the same `basis` (clamped production energy) is kept so that days roll up into months exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Final

import pandas as pd

from domain.sources import EMISSION_FACTORS_G_PER_KWH, PRODUCTION_SOURCES

# MWh × gCO2eq/kWh = 1000 kWh × g/kWh = kg; / 1000 gives tonnes.
KG_PER_TONNE: Final[float] = 1000.0


def _present(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def carbon_intensity(production_mw: Mapping[str, float | None]) -> float | None:
    """gCO2eq/kWh of one instant from MW by source (sources absent or None are left out)."""
    weighted = basis = 0.0
    seen = False
    for source in PRODUCTION_SOURCES:
        mw = production_mw.get(source)
        if mw is None or not _present(mw):
            continue
        seen = True
        clamped = max(mw, 0.0)
        weighted += clamped * EMISSION_FACTORS_G_PER_KWH[source]
        basis += clamped
    return weighted / basis if seen and basis > 0 else None


def emissions_tco2eq(energy_mwh: Mapping[str, float | None]) -> float | None:
    """tCO2eq of clamped production energy by source (MWh); None when no production source is present."""
    present = [(s, e) for s in PRODUCTION_SOURCES if _present(e := energy_mwh.get(s))]
    if not present:
        return None
    return sum(max(e, 0.0) * EMISSION_FACTORS_G_PER_KWH[s] for s, e in present if e is not None) / KG_PER_TONNE


def intensity_from_totals(emissions_t: Iterable[float | None], basis_mwh: Iterable[float | None]) -> float | None:
    """Period CI from per-part emissions (t) and clamped production energy (MWh): Σ emissions / Σ basis."""
    emitted = [e for e in emissions_t if e is not None]
    basis = sum(b for b in basis_mwh if b is not None)
    if not emitted or basis <= 0:
        return None
    return sum(emitted) * KG_PER_TONNE / basis


def carbon_terms(production_mw: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row: (Σ_s max(P,0) × EF_s in MW·g/kWh, Σ_s max(P,0) in MW), NaN where no production source is present.

    `production_mw` has one column per production source (any subset of PRODUCTION_SOURCES), NaN = missing.
    CI of a row = first / second; over rows, sum both (times dt) before dividing.
    """
    columns = [s for s in PRODUCTION_SOURCES if s in production_mw.columns]
    clamped = production_mw[columns].clip(lower=0.0)
    factors = pd.Series({s: EMISSION_FACTORS_G_PER_KWH[s] for s in columns}, dtype="float64")
    weighted = clamped.mul(factors, axis=1).sum(axis=1, min_count=1)
    basis = clamped.sum(axis=1, min_count=1)
    return weighted, basis


def intensity(weighted: pd.Series, basis: pd.Series) -> pd.Series:
    """CI per row from `carbon_terms`: NaN where the basis is missing or 0."""
    return (weighted / basis).where(basis > 0)
