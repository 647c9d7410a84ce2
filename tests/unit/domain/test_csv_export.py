"""CSV rendering against literal files written by hand (tests/fixtures/csv), and on built DST days."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.aggregate import INTERVAL_VALUE_COLUMNS, build_day_documents, build_days, build_month_document
from domain.csv_export import (
    DAY_COLUMNS,
    DAY_NUMBER_COLUMNS,
    MONTH_COLUMNS,
    format_number,
    format_numbers,
    format_text,
    render_day_csv,
    render_day_csvs,
    render_days_csv,
    render_month_csv,
    render_months_csv,
)
from domain.models import GoldRow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "csv"
NO_SOURCE: dict[str, Any] = {
    s: None
    for s in ("nucleaire", "thermique", "hydraulique", "eolien", "solaire", "bioenergies", "pompage", "ech_physiques")
}
NO_LOAD: dict[str, Any] = {
    s: None for s in ("nucleaire", "thermique", "hydraulique", "eolien", "solaire", "bioenergies")
}


def interval(timestamp: str, **values: Any) -> dict[str, Any]:
    """The one factory of hand-made intervals: named sources and `fc_<source>` load factors, the rest null."""
    return {
        "timestamp": timestamp,
        "production_mw": values.pop("production_mw", None),
        "consumption_mw": values.pop("consumption_mw", None),
        "carbon_intensity_g_per_kwh": values.pop("ci", None),
        "sources": NO_SOURCE | {k: v for k, v in values.items() if not k.startswith("fc_")},
        "facteur_charge": NO_LOAD | {k[3:]: v for k, v in values.items() if k.startswith("fc_")},
    }


def day_totals(**values: Any) -> dict[str, Any]:
    energy = values.pop("energy", {})
    loads = values.pop("loads", {})
    fields = [
        "production_mwh",
        "consumption_mwh",
        "production_mw_avg",
        "production_mw_peak",
        "consumption_mw_avg",
        "consumption_mw_peak",
        "carbon_intensity_g_per_kwh",
        "emissions_tco2eq",
    ]
    return {
        "energy_mwh": NO_SOURCE | energy,
        "facteur_charge_avg": NO_LOAD | loads,
        **{f: values.get(f) for f in fields},
    }


def test_day_csv_matches_the_hand_written_file() -> None:
    # Region 93 (no nuclear), two production sources, the repeated 02:00 hour of 2024-10-27.
    doc = {
        "region_code": "93",
        "region_name": "Provence-Alpes-Côte d'Azur",
        "intervals": [
            interval(
                "2024-10-27T02:00:00+02:00",
                production_mw=1234.5,
                consumption_mw=3000,
                eolien=1200.5,
                solaire=34.0,
                fc_eolien=25.125,
                ci=12.019,
            ),
            interval(
                "2024-10-27T02:00:00+01:00", production_mw=0.0, consumption_mw=2999.75, solaire=0, fc_solaire=-0.0
            ),
            interval("2024-10-27T02:30:00+01:00", pompage=-12.5, ech_physiques=1500.0),
        ],
    }
    assert render_day_csv(doc) == (FIXTURES / "day_93_2024-10-27.csv").read_bytes()


def test_month_csv_matches_the_hand_written_file() -> None:
    doc = {
        "region_code": "93",
        "region_name": "Provence-Alpes-Côte d'Azur",
        "days": [
            {
                "date": "2024-10-27",
                "timestamp": "2024-10-27T00:00:00+02:00",
                "interval_count": 50,
                "final": True,
                "totals": day_totals(
                    energy={"eolien": 29000.0, "solaire": 1000, "pompage": -300.0, "ech_physiques": 42000.0},
                    loads={"eolien": 30.5, "solaire": 4.125},
                    production_mwh=30000.0,
                    consumption_mwh=72000.5,
                    production_mw_avg=1200,
                    production_mw_peak=2500.25,
                    consumption_mw_avg=2880.02,
                    consumption_mw_peak=3500.0,
                    carbon_intensity_g_per_kwh=12.2,
                    emissions_tco2eq=366.0,
                ),
            },
            {
                "date": "2024-10-28",
                "timestamp": "2024-10-28T00:00:00+01:00",
                "interval_count": 48,
                "final": False,
                "totals": day_totals(consumption_mwh=70000, consumption_mw_avg=2916.667, consumption_mw_peak=3400),
            },
        ],
    }
    assert render_month_csv(doc) == (FIXTURES / "month_93_2024-10.csv").read_bytes()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (0, "0"),
        (0.0, "0"),
        (-0.0, "0"),
        (-0.0004, "0"),
        (1234.5, "1234,5"),
        (1234.5678, "1234,568"),
        (-12.25, "-12,25"),
        (100, "100"),
        (1e7, "10000000"),
        (0.001, "0,001"),
    ],
)
def test_numbers_have_a_decimal_comma_and_missing_is_an_empty_cell(value: float | None, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(("value", "error"), [(float("nan"), ValueError), (True, TypeError), ("1", TypeError)])
def test_non_numbers_are_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        format_number(value)


def built_days() -> list[dict[str, Any]]:
    return build_day_documents("93", dst_rows())


def dst_rows() -> list[GoldRow]:
    # 2024-03-31: 46 half-hours; 2024-10-27: 50. Eolien present on odd slots only, no nucleaire at all.
    rows = []
    for day, first_utc, count in (
        ("2024-03-31", "2024-03-30T23:00:00Z", 46),
        ("2024-10-27", "2024-10-26T22:00:00Z", 50),
    ):
        start = datetime.fromisoformat(first_utc.replace("Z", "+00:00"))
        for i in range(count):
            stamp = (start + timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append(GoldRow(stamp, day, "eolien", 10.0 if i % 2 else None, None, "2025-01-01T00:00:00Z", "x"))
            rows.append(GoldRow(stamp, day, "consommation", 100.0, None, "2025-01-01T00:00:00Z", "x"))
    return rows


@pytest.mark.parametrize(("index", "lines"), [(0, 46), (1, 50)])
def test_a_built_dst_day_renders_one_row_per_half_hour_with_empty_cells_for_missing(index: int, lines: int) -> None:
    data = render_day_csv(built_days()[index])
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    rows = [line.split(";") for line in data[3:].decode("utf-8").split("\r\n")[:-1]]
    assert rows[0] == list(DAY_COLUMNS) and len(rows) == lines + 1
    assert all(len(r) == len(DAY_COLUMNS) for r in rows)
    eolien, nucleaire = DAY_COLUMNS.index("eolien_MW"), DAY_COLUMNS.index("nucleaire_MW")
    assert [r[eolien] for r in rows[1:5]] == ["", "10", "", "10"]
    assert {r[nucleaire] for r in rows[1:]} == {""}
    stamp = DAY_COLUMNS.index("horodatage")
    assert len({r[stamp] for r in rows[1:]}) == lines  # the repeated 02:00 hour differs by its offset
    row = dict(zip(DAY_COLUMNS, rows[1], strict=True))
    assert (row["code_region"], row["nom_region"]) == ("93", "Provence-Alpes-Côte d'Azur")
    assert row["date_locale"] == f"{row['horodatage'][8:10]}/{row['horodatage'][5:7]}/{row['horodatage'][:4]}"
    # Local wall-clock times: the spring day skips 02:00-02:30, the autumn day shows them twice.
    times = [r[DAY_COLUMNS.index("heure_locale")] for r in rows[1:]]
    assert times[:2] == ["00:00", "00:30"] and times[-1] == "23:30"
    assert times.count("02:00") == (0 if lines == 46 else 2)


def test_a_built_month_renders_one_row_per_day() -> None:
    days = built_days()
    month = build_month_document("93", "2024-10", days[1:])
    rows = [line.split(";") for line in render_month_csv(month)[3:].decode("utf-8").split("\r\n")[:-1]]
    assert rows[0] == list(MONTH_COLUMNS) and len(rows) == 2
    row = dict(zip(MONTH_COLUMNS, rows[1], strict=True))
    assert row["horodatage"] == "2024-10-27T00:00:00+02:00" and row["nombre_demi_heures"] == "50"
    assert row["eolien_MWh"] == "125" and row["consommation_MWh"] == "2500" and row["nucleaire_MWh"] == ""
    assert row["donnees_definitives"] == "non" and row["date_locale"] == "27/10/2024"


def test_several_documents_render_under_one_header_in_the_order_given() -> None:
    days = built_days()
    both = render_days_csv(days)
    assert both == render_day_csv(days[0]) + render_day_csv(days[1]).split(b"\r\n", 1)[1]
    months = [build_month_document("93", "2024-03", days[:1]), build_month_document("93", "2024-10", days[1:])]
    rows = render_months_csv(months)[3:].decode("utf-8").split("\r\n")[1:-1]
    assert [r.split(";")[MONTH_COLUMNS.index("date_locale")] for r in rows] == ["31/03/2024", "27/10/2024"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [("Grand Est", "Grand Est"), ("Provence-Alpes-Côte d'Azur", "Provence-Alpes-Côte d'Azur"), ('a;"b"', '"a;""b"""')],
)
def test_text_cells_are_quoted_only_when_they_must_be(value: str, cell: str) -> None:
    assert format_text(value) == cell


def _fixed_form(value: float) -> str:
    """The rule spelled out: 3 decimals, trailing zeros and point dropped, no -0, decimal comma."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return ("0" if text == "-0" else text).replace(".", ",")


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(-1e7, 1e7).map(lambda v: round(v, 3)),  # the documents' numbers: already rounded
        st.integers(-(10**7), 10**7).map(lambda n: n / 1000),
    )
)
def test_the_fast_path_writes_what_the_rule_says(value: float) -> None:
    assert format_number(value) == _fixed_form(value)


# --- the array renderer: the same bytes as the documents' renderer ---------------------------------------


def random_rows(seed: int) -> list[GoldRow]:
    """Three days around the autumn DST change with random values: negatives, > 100 000 MW (the one-by-one
    path), integral values, nulls, and absent (source, half-hour) pairs."""
    rng = np.random.default_rng(seed)
    start = datetime.fromisoformat("2024-10-25T22:00:00+00:00")
    sources = ("nucleaire", "eolien", "solaire", "pompage", "ech_physiques", "consommation")
    rows = []
    for i in range(48 + 50 + 48):
        instant = start + timedelta(minutes=30 * i)
        stamp = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
        day = instant.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d")
        for source in sources:
            draw = rng.random()
            if draw < 0.1:
                continue  # no row: null
            value = None if draw < 0.2 else float(rng.choice([rng.normal(0, 3000), 150_000.25, 7.0, -0.0004]))
            load = None if draw < 0.5 else round(float(rng.random() * 100), 4)
            rows.append(GoldRow(stamp, day, source, value, load, "2025-01-01T00:00:00Z", "x"))
    return rows


@pytest.mark.parametrize("seed", [None, 0, 1, 2, 3], ids=lambda s: "DST days" if s is None else f"seed {s}")
def test_the_array_renderer_writes_the_documents_files_byte_for_byte(seed: int | None) -> None:
    docs, half_hours = build_days("93", random_rows(seed) if seed is not None else dst_rows())
    files = render_day_csvs("93", docs[0]["region_name"], half_hours.timestamps, half_hours.values, half_hours.counts)
    assert half_hours.dates == [d["date"] for d in docs] and len(files) == len(docs) >= 2
    assert files == [render_day_csv(d) for d in docs]


def test_the_array_renderer_takes_the_numbers_in_the_csv_column_order() -> None:
    csv_names = [c.removesuffix("_MW").removesuffix("_pct") for c in DAY_NUMBER_COLUMNS]
    renamed = {"production_totale": "production_mw", "consommation": "consumption_mw"}
    renamed |= {"intensite_carbone_gCO2eq_par_kWh": "carbon_intensity_g_per_kwh"}
    expected = [
        renamed.get(n) or (f"facteur_charge.{n[15:]}" if n.startswith("facteur_charge_") else f"sources.{n}")
        for n in csv_names
    ]
    assert list(INTERVAL_VALUE_COLUMNS) == expected


def test_the_array_renderer_refuses_arrays_that_do_not_match() -> None:
    with pytest.raises(ValueError, match="same half-hours"):
        render_day_csvs("93", "x", ["2024-10-27T00:00:00+02:00"], np.zeros((1, 3)), [1])
    with pytest.raises(ValueError, match="same half-hours"):
        render_day_csvs("93", "x", ["2024-10-27T00:00:00+02:00"], np.zeros((1, len(DAY_NUMBER_COLUMNS))), [2])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(-1e300, 1e300),  # rounding a larger float overflows to inf (never a document's number)
            st.floats(-2e5, 2e5),
            st.integers(-(10**8), 10**8).map(lambda n: n / 1000),
            st.sampled_from([0.0, -0.0, -0.0004, 99_998.9995, 99_999.0, 1e12, -1e16]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_formatting_an_array_writes_what_format_number_writes(values: list[float | None]) -> None:
    # The documents' numbers: rounded by numpy, as the aggregation rounds them.
    rounded = np.round(np.array([np.nan if v is None else v for v in values], dtype=np.float64), 3) + 0.0
    expected = [format_number(None if np.isnan(v) else float(v)) for v in rounded]
    assert format_numbers(rounded).tolist() == expected
    assert format_numbers(rounded.reshape(1, -1)).tolist() == [expected]


def test_formatting_an_array_refuses_infinities() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        format_numbers(np.array([1.0, np.inf]))
