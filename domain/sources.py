"""éCO2mix source columns and the lifecycle emission factors used for carbon intensity."""

from __future__ import annotations

from typing import Final

# Canonical source names, as stored in DIM_SOURCE.source_name.
PRODUCTION_SOURCES: Final[tuple[str, ...]] = (
    "nucleaire",
    "thermique",
    "hydraulique",
    "eolien",
    "solaire",
    "bioenergies",
)
# Flows that balance the region but are not production: pumping load (<= 0) and net physical
# exchanges (> 0 is a net import into the region).
BALANCE_SOURCES: Final[tuple[str, ...]] = ("pompage", "ech_physiques")
CONSUMPTION: Final[str] = "consommation"
ALL_SOURCES: Final[tuple[str, ...]] = (*PRODUCTION_SOURCES, *BALANCE_SOURCES, CONSUMPTION)

# Lifecycle emission factors in gCO2eq/kWh: medians of IPCC AR5 WG3 (2014), Annex III,
# Table A.III.2 "Emissions of selected electricity supply technologies". éCO2mix does not split
# `thermique` by fuel; it is mostly gas in France, so the gas combined-cycle median is used.
METHODOLOGY_VERSION: Final[str] = "ipcc-ar5-wg3-annex3-median/v1"
EMISSION_FACTORS_G_PER_KWH: Final[dict[str, float]] = {
    "nucleaire": 12.0,  # nuclear
    "thermique": 490.0,  # gas, combined cycle
    "hydraulique": 24.0,  # hydropower
    "eolien": 11.0,  # wind onshore
    "solaire": 48.0,  # solar PV, utility scale
    "bioenergies": 230.0,  # biomass, dedicated
}
EMISSION_FACTORS_SOURCE: Final[str] = (
    "IPCC AR5 WG3 (2014), Annex III: Technology-specific cost and performance parameters, "
    "Table A.III.2, lifecycle median values"
)
