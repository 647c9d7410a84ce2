"""The methodology catalogue states what the code does: its factors, its forecast models, no numpy to serve it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domain import forecast, methodology
from domain.sources import EMISSION_FACTORS_G_PER_KWH, EMISSION_FACTORS_SOURCE, METHODOLOGY_VERSION, PRODUCTION_SOURCES

REPO = Path(__file__).resolve().parents[3]


def test_emission_factors_are_the_ones_the_intensity_uses() -> None:
    stated = {f["source"]: f["g_co2eq_per_kwh"] for f in methodology.EMISSION_FACTORS}
    assert stated == EMISSION_FACTORS_G_PER_KWH and list(stated) == list(PRODUCTION_SOURCES)
    assert {f["reference"] for f in methodology.EMISSION_FACTORS} == {EMISSION_FACTORS_SOURCE}


def test_forecast_models_are_the_ones_the_forecast_runs() -> None:
    stated = [(m["id"], m["version"], m["description"]) for m in methodology.FORECAST_MODELS]
    assert stated == [(m.id, m.version, m.description) for m in forecast.MODELS]
    assert (methodology.FORECAST["id"], methodology.FORECAST["version"]) == (
        forecast.SELECTION_MODEL_ID,
        forecast.SELECTION_MODEL_VERSION,
    )
    assert methodology.FORECAST["bands"] == [b.name for b in forecast.BANDS]
    assert methodology.FORECAST["horizon_hours"] * 60 // forecast.SLOT_MINUTES == forecast.HORIZON_SLOTS


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("licence", "attribution"), "RTE via ODRÉ"),
        (("licence", "name"), "Licence Ouverte / Open Licence v2.0 (Etalab)"),
        (("data_last_updated",), "2025-01-02T03:04:05Z"),
        (("methodology_version",), METHODOLOGY_VERSION),
        (("national_aggregation", "region_code"), "FR"),
    ],
)
def test_document_fields(path: tuple[str, ...], expected: str) -> None:
    value = methodology.methodology_document("2025-01-02T03:04:05Z")
    for key in path:
        value = value[key]
    assert value == expected


def test_the_document_is_json_and_a_copy() -> None:
    doc = methodology.methodology_document("t")
    json.dumps(doc)
    doc["emission_factors"][0]["g_co2eq_per_kwh"] = 0
    assert methodology.methodology_document("t")["emission_factors"][0]["g_co2eq_per_kwh"] != 0


def test_serving_it_loads_no_numpy() -> None:
    code = "import sys, domain.methodology as m; m.methodology_document('t'); print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
