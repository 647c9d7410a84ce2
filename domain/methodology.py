"""The methodology catalogue as data: what every derived number means and where its inputs come from.

Pure data and one builder, no numpy: an HTTP route can serve it without loading the forecast code. The
forecast models are restated here (ids, versions, descriptions) rather than imported from domain.forecast;
tests/unit/domain/test_methodology.py fails when the two disagree.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from domain.sources import EMISSION_FACTORS_G_PER_KWH, EMISSION_FACTORS_SOURCE, METHODOLOGY_VERSION

# The IPCC technology behind each factor (the comments of domain/sources.py, as data).
_TECHNOLOGY: Final[dict[str, str]] = {
    "nucleaire": "nuclear",
    "thermique": "gas, combined cycle (éCO2mix does not split thermal by fuel; mostly gas in France)",
    "hydraulique": "hydropower",
    "eolien": "wind onshore",
    "solaire": "solar PV, utility scale",
    "bioenergies": "biomass, dedicated",
}

EMISSION_FACTORS: Final[list[dict[str, Any]]] = [
    {
        "source": source,
        "g_co2eq_per_kwh": factor,
        "technology": _TECHNOLOGY[source],
        "reference": EMISSION_FACTORS_SOURCE,
        "scope": "lifecycle, median",
    }
    for source, factor in EMISSION_FACTORS_G_PER_KWH.items()
]

CARBON_INTENSITY: Final[dict[str, str]] = {
    "unit": "gCO2eq/kWh",
    "instant": "Σ_s max(P_s, 0) × EF_s / Σ_s max(P_s, 0) over the production sources with a value",
    "period": "Σ_t Σ_s max(P_s, 0) × EF_s × dt / Σ_t Σ_s max(P_s, 0) × dt: emissions over the energy behind them",
    "negative_production": "clamped to 0: a plant's auxiliary load is not negative emissions",
    "excluded": "pumping (pompage) and physical exchanges (ech_physiques) are not production",
    "missing": "a source without a value is left out; no source with a value (or 0 production) gives null",
}

NATIONAL_AGGREGATION: Final[dict[str, str]] = {
    "region_code": "FR",
    "rule": "France = the sum of the 12 metropolitan regions of éCO2mix (Corsica is not in the regional data)",
    "sums": "sources (MW) and consumption are summed over the regions per half-hour",
    "carbon_intensity": "Σ(P·EF)/ΣP of the summed production, not a mean of the regional intensities",
    "missing": (
        "a value is null when a region that reports its column lacks it at that half-hour (never a partial sum); "
        "such a half-hour has complete=false and lists regions_missing; a region with no value at all there "
        "nulls every value"
    ),
    "load_factor": (
        "capacity_r = P_r / TCH_r; FR TCH = Σ P_r / Σ capacity_r where every region reporting the source has "
        "P_r > 0 and TCH_r > 0; 0 when all have P_r = 0 and TCH_r = 0; null otherwise"
    ),
}

LICENCE: Final[dict[str, str]] = {
    "name": "Licence Ouverte / Open Licence v2.0 (Etalab)",
    "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "attribution": "RTE via ODRÉ",
    "data": "éCO2mix regional data of RTE (Réseau de Transport d'Électricité), published on ODRÉ",
    "data_url": "https://odre.opendatasoft.com/explore/dataset/eco2mix-regional-cons-def/",
}

FORECAST_MODELS: Final[list[dict[str, str]]] = [
    {
        "id": "seasonal_naive_day",
        "version": "1",
        "description": "same half-hour 24 h earlier (48 h beyond a 24 h horizon)",
    },
    {"id": "seasonal_naive_week", "version": "1", "description": "same half-hour 168 h earlier"},
    {
        "id": "climatology",
        "version": "1",
        "description": "mean by month × day type (weekday/saturday/sunday-holiday) × local half-hour, over the history",
    },
    {"id": "persistence", "version": "1", "description": "last known value (at most 24 h old)"},
    {"id": "profile_7d", "version": "1", "description": "mean of the same half-hour over the 7 latest known days"},
    {
        "id": "anchored_profile",
        "version": "1",
        "description": "profile_7d plus the latest anomaly decaying with a 6 h half-life",
    },
]

FORECAST: Final[dict[str, Any]] = {
    "id": "banded-selection",
    "version": "1",
    "horizon_hours": 48,
    "interval_minutes": 30,
    "inputs": "the series' own history only (no weather); models take an exogenous-inputs port and ignore it",
    "bands": ["0-6h", "6-24h", "24-48h"],
    "selection": (
        "per region, variable and band, the lowest MAE in a rolling-origin backtest (origins every 23.5 h, each "
        "forecast reading only data before its origin, every model scored on the same pairs); seasonal_naive_day "
        "wins ties, so the chosen model is never worse than it"
    ),
    "skill": "1 − MAE / MAE(seasonal_naive_day), per band",
    "prediction_interval": "forecast + 10 % and 90 % empirical quantiles of the chosen model's backtest residuals",
    "models": FORECAST_MODELS,
}


def methodology_document(data_last_updated: str | None) -> dict[str, Any]:
    """The catalogue served by the API; `data_last_updated` (UTC ISO) is when the data behind it last changed
    (e.g. the materialization watermark; None before any materialization), given by the caller as this module
    reads no store and no clock."""
    return copy.deepcopy(
        {
            "id": "methodology",
            "doc_type": "methodology",
            "methodology_version": METHODOLOGY_VERSION,
            "data_last_updated": data_last_updated,
            "licence": LICENCE,
            "emission_factors": EMISSION_FACTORS,
            "carbon_intensity": CARBON_INTENSITY,
            "national_aggregation": NATIONAL_AGGREGATION,
            "forecast": FORECAST,
        }
    )
