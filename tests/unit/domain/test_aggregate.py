"""Day documents and month rollups: the calendar (DST), missing values, energy, carbon, provenance, hashes."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.aggregate import (
    build_day_documents,
    build_month_document,
    carbon_term_arrays,
    interval_count,
    month_days,
)
from domain.carbon import carbon_terms
from domain.hashing import canonical_json, content_hash
from domain.models import DayDocument, GoldRow, MonthDocument
from domain.sources import METHODOLOGY_VERSION, PRODUCTION_SOURCES

PARIS = ZoneInfo("Europe/Paris")
LOADED = "2025-01-15T00:00:00.000000Z"
DEFINITIVE = "Données définitives"
CONSOLIDATED = "Données consolidées"

# A source's values over a day: one constant for every half-hour, or one value per half-hour (None = NULL).
Values = float | None | Sequence[float | None]


def half_hours(day: str) -> list[datetime]:
    """UTC starts of the half-hours of local `day`, computed here independently of the code under test."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), PARIS).astimezone(UTC)
    out = []
    t = start
    while t.astimezone(PARIS).date() == date.fromisoformat(day):
        out.append(t)
        t += timedelta(minutes=30)
    return out


def gold_rows(
    day: str,
    values: Mapping[str, Values],
    *,
    tch: Mapping[str, Values] | None = None,
    loaded_at: str = LOADED,
    nature: str = DEFINITIVE,
    slots: Sequence[int] | None = None,
) -> list[GoldRow]:
    """The one factory of Gold rows: rows for the chosen half-hour slots of `day` (all by default)."""
    instants = half_hours(day)
    rows = []
    for i in slots if slots is not None else range(len(instants)):
        for source, spec in sorted(values.items()):
            mw = spec[i] if isinstance(spec, Sequence) else spec
            load_spec = (tch or {}).get(source)
            load = load_spec[i] if isinstance(load_spec, Sequence) else load_spec
            stamp = instants[i].strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append(GoldRow(stamp, day, source, mw, load, loaded_at, nature))
    return rows


def only_day(rows: Sequence[GoldRow], region: str = "93") -> dict[str, Any]:
    docs = build_day_documents(region, rows)
    assert len(docs) == 1
    return docs[0]


@pytest.mark.parametrize(
    ("day", "intervals", "hours"),
    [
        ("2024-06-15", 48, 24),
        ("2024-03-31", 46, 23),  # spring forward: 02:00-03:00 does not exist
        ("2024-10-27", 50, 25),  # fall back: 02:00-03:00 twice
        ("2023-03-26", 46, 23),
        ("2023-10-29", 50, 25),
        ("2024-12-31", 48, 24),
    ],
)
def test_the_calendar_gives_the_intervals_even_when_rows_are_sparse(day: str, intervals: int, hours: int) -> None:
    doc = only_day(gold_rows(day, {"eolien": 100.0}, slots=[0, 5]))
    assert doc["interval_count"] == intervals == len(doc["intervals"]) == interval_count(date.fromisoformat(day))
    assert len(doc["hourly"]) == hours
    assert doc["intervals_with_data"] == 2
    expected = [t.astimezone(PARIS).isoformat() for t in half_hours(day)]
    assert [i["timestamp"] for i in doc["intervals"]] == expected
    assert doc["hourly"][0]["timestamp"] == f"{day}T00:00:00{expected[0][-6:]}"
    DayDocument.model_validate(doc)


def test_the_autumn_day_repeats_the_two_oclock_hour_with_both_offsets() -> None:
    doc = only_day(gold_rows("2024-10-27", {"eolien": 10.0}))
    stamps = [i["timestamp"] for i in doc["intervals"]]
    assert stamps[4:8] == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T02:30:00+01:00",
    ]
    assert [h["timestamp"] for h in doc["hourly"][2:4]] == ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00"]
    spring = only_day(gold_rows("2024-03-31", {"eolien": 10.0}))
    assert [i["timestamp"] for i in spring["intervals"][3:5]] == [
        "2024-03-31T01:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
    ]


@pytest.mark.parametrize(
    ("day", "mw", "energy"),
    [
        ("2024-06-15", 100.0, 2400.0),
        ("2024-03-31", 100.0, 2300.0),
        ("2024-10-27", 100.0, 2500.0),
        ("2024-06-15", 0.5, 12.0),
    ],
)
def test_energy_is_mw_times_half_an_hour_over_the_calendar_day(day: str, mw: float, energy: float) -> None:
    doc = only_day(gold_rows(day, {"eolien": mw, "consommation": 2 * mw}))
    assert doc["totals"]["energy_mwh"]["eolien"] == pytest.approx(energy)
    assert doc["totals"]["production_mwh"] == pytest.approx(energy)
    assert doc["totals"]["consumption_mwh"] == pytest.approx(2 * energy)


def test_missing_values_stay_null_never_zero() -> None:
    n = len(half_hours("2024-06-15"))
    eolien = [None if i % 3 == 0 else 60.0 for i in range(n)]
    rows = gold_rows("2024-06-15", {"eolien": eolien, "solaire": None, "consommation": 500.0}, slots=range(40))
    doc = only_day(rows)
    totals = doc["totals"]
    # No nucleaire row at all (a region without plants) and solaire rows whose value is NULL: both null.
    assert totals["energy_mwh"]["nucleaire"] is None and totals["energy_mwh"]["solaire"] is None
    assert totals["facteur_charge_avg"]["eolien"] is None
    present = sum(1 for v in eolien[:40] if v is not None)
    assert totals["energy_mwh"]["eolien"] == pytest.approx(present * 60.0 * 0.5)
    assert totals["production_mw_avg"] == pytest.approx(60.0) and totals["production_mw_peak"] == pytest.approx(60.0)
    assert doc["intervals_with_data"] == 40  # consommation is there in each of the 40 slots
    first = doc["intervals"][0]
    assert first["sources"]["eolien"] is None and first["production_mw"] is None
    assert first["carbon_intensity_g_per_kwh"] is None and first["consumption_mw"] == 500
    tail = doc["intervals"][40:]
    assert tail and all(i["consumption_mw"] is None and set(i["sources"].values()) == {None} for i in tail)
    assert all(v is None for i in tail for v in (i["production_mw"], i["carbon_intensity_g_per_kwh"]))


def test_every_source_key_is_always_present() -> None:
    doc = only_day(gold_rows("2024-06-15", {"eolien": 1.0}))
    expected = {*PRODUCTION_SOURCES, "pompage", "ech_physiques"}
    for interval in [*doc["intervals"], *doc["hourly"]]:
        assert set(interval["sources"]) == expected and set(interval["facteur_charge"]) == set(PRODUCTION_SOURCES)
    assert set(doc["totals"]["energy_mwh"]) == expected


def test_production_sums_production_sources_only_and_keeps_negative_values() -> None:
    values = {"nucleaire": 1000.0, "thermique": -4.0, "pompage": -50.0, "ech_physiques": 300.0, "consommation": 1240.0}
    interval = only_day(gold_rows("2024-06-15", values))["intervals"][0]
    assert interval["production_mw"] == pytest.approx(996.0)  # pumping and exchanges are not production
    assert interval["sources"]["thermique"] == -4 and interval["sources"]["pompage"] == -50
    # CI clamps the negative thermique: only the nuclear output carries emissions.
    assert interval["carbon_intensity_g_per_kwh"] == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("values", "expected_ci"),
    [
        ({"nucleaire": 100.0, "thermique": 100.0}, (100 * 12 + 100 * 490) / 200),
        ({"eolien": 90.0, "thermique": -10.0}, 11.0),
        ({"solaire": 30.0, "hydraulique": 10.0, "bioenergies": 10.0}, (30 * 48 + 10 * 24 + 10 * 230) / 50),
        ({"eolien": 0.0, "solaire": 0.0}, None),
        ({"consommation": 800.0, "ech_physiques": 800.0}, None),
    ],
)
def test_interval_carbon_intensity_by_hand(values: dict[str, float], expected_ci: float | None) -> None:
    doc = only_day(gold_rows("2024-06-15", values))
    ci = doc["intervals"][0]["carbon_intensity_g_per_kwh"]
    assert ci == (pytest.approx(expected_ci, abs=1e-3) if expected_ci is not None else None)
    assert doc["totals"]["carbon_intensity_g_per_kwh"] == ci


def test_daily_carbon_intensity_is_energy_weighted() -> None:
    nucleaire = [100.0, None] + [None] * 46
    thermique = [None, 300.0] + [None] * 46
    doc = only_day(gold_rows("2024-06-15", {"nucleaire": nucleaire, "thermique": thermique}))
    totals = doc["totals"]
    # (100 MW × 12 + 300 MW × 490) g/kWh-weighted MW × 0.5 h, over 400 MW × 0.5 h.
    assert totals["carbon_intensity_g_per_kwh"] == pytest.approx((100 * 12 + 300 * 490) / 400)
    assert totals["emissions_tco2eq"] == pytest.approx((100 * 12 + 300 * 490) * 0.5 / 1000)
    assert totals["carbon_basis_mwh"] == pytest.approx(200.0)
    # Not the plain mean of the two interval intensities (12 and 490).
    assert totals["carbon_intensity_g_per_kwh"] != pytest.approx((12 + 490) / 2)


def test_hour_values_need_both_half_hours_and_totals_still_use_every_half_hour() -> None:
    eolien = [100.0, 200.0, 50.0, None] + [None] * 44
    doc = only_day(gold_rows("2024-06-15", {"eolien": eolien}, tch={"eolien": [10.0, 20.0, 5.0, None] + [None] * 44}))
    first, second = doc["hourly"][0], doc["hourly"][1]
    assert (
        first["sources"]["eolien"] == 150 and first["production_mw"] == 150 and first["facteur_charge"]["eolien"] == 15
    )
    assert second["sources"]["eolien"] is None and second["production_mw"] is None
    assert first["carbon_intensity_g_per_kwh"] == pytest.approx(11.0) and second["carbon_intensity_g_per_kwh"] is None
    assert doc["totals"]["energy_mwh"]["eolien"] == pytest.approx((100 + 200 + 50) * 0.5)
    assert doc["totals"]["facteur_charge_avg"]["eolien"] == pytest.approx((10 + 20 + 5) / 3, abs=5e-4)


@pytest.mark.parametrize(
    ("natures", "nature", "final"),
    [
        ([DEFINITIVE, DEFINITIVE], DEFINITIVE, True),
        ([DEFINITIVE, "Donnees definitives"], DEFINITIVE, True),  # accent-stripped spelling
        ([DEFINITIVE, CONSOLIDATED], CONSOLIDATED, False),
        (["Données temps réel", CONSOLIDATED], "Données temps réel", False),
        ([DEFINITIVE, "Données inconnues"], "Données inconnues", False),
    ],
)
def test_nature_is_the_least_final_and_final_needs_every_row_definitive(
    natures: list[str], nature: str, final: bool
) -> None:
    # The second nature is on one half-hour only: the least final wins, not the most frequent.
    rows = [
        *gold_rows("2024-06-15", {"eolien": 1.0}, nature=natures[0], slots=range(47)),
        *gold_rows("2024-06-15", {"eolien": 1.0}, nature=natures[1], slots=[47]),
    ]
    doc = only_day(rows)
    assert (doc["nature"], doc["final"]) == (nature, final)


def test_source_loaded_at_is_the_latest_load_and_the_latest_load_wins_a_duplicate() -> None:
    old = gold_rows("2024-06-15", {"eolien": 10.0}, loaded_at="2025-01-01T00:00:00.000000Z")
    new = gold_rows("2024-06-15", {"eolien": 30.0}, loaded_at="2025-02-01T00:00:00.000000Z", slots=[0])
    doc = only_day([*new, *old])
    assert doc["source_loaded_at"] == "2025-02-01T00:00:00.000000Z"
    assert doc["intervals"][0]["sources"]["eolien"] == 30 and doc["intervals"][1]["sources"]["eolien"] == 10
    assert doc["totals"]["energy_mwh"]["eolien"] == pytest.approx((30 + 47 * 10) * 0.5)


def test_quarter_hour_rows_are_averaged_into_their_half_hour() -> None:
    start = half_hours("2024-06-15")[0]
    rows = [
        GoldRow(
            (start + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "2024-06-15",
            "eolien",
            mw,
            None,
            LOADED,
            DEFINITIVE,
        )
        for m, mw in ((0, 100.0), (15, 300.0))
    ]
    doc = only_day(rows)
    assert doc["intervals"][0]["sources"]["eolien"] == 200
    assert doc["totals"]["energy_mwh"]["eolien"] == pytest.approx(100.0)


def test_rows_over_several_days_give_one_document_per_local_day_in_order() -> None:
    days = ["2024-03-30", "2024-03-31", "2024-04-01"]
    rows = [r for d in reversed(days) for r in gold_rows(d, {"solaire": 5.0})]
    docs = build_day_documents("11", rows)
    assert [d["date"] for d in docs] == days and [d["id"] for d in docs] == [f"11:{d}" for d in days]
    assert [d["interval_count"] for d in docs] == [48, 46, 48]
    assert all(d["region_name"] == "Île-de-France" and d["methodology_version"] == METHODOLOGY_VERSION for d in docs)


def test_the_local_day_comes_from_the_instant() -> None:
    # 2024-06-14T22:00Z is local midnight of 2024-06-15 (UTC+2).
    doc = only_day([GoldRow("2024-06-14T22:00:00Z", "2024-06-15", "eolien", 7.0, None, LOADED, DEFINITIVE)])
    assert doc["date"] == "2024-06-15" and doc["intervals"][0]["sources"]["eolien"] == 7


@pytest.mark.parametrize(
    ("region", "rows", "message"),
    [
        ("99", gold_rows("2024-06-15", {"eolien": 1.0}, slots=[0]), "unknown region"),
        ("93", gold_rows("2024-06-15", {"charbon": 1.0}, slots=[0]), "unknown source"),
    ],
)
def test_bad_input_raises_a_clear_value_error(region: str, rows: list[GoldRow], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_day_documents(region, rows)


def test_no_rows_no_documents() -> None:
    assert build_day_documents("93", []) == []


def mixed_day_rows() -> list[GoldRow]:
    return mixed_day_rows_on("2024-10-27")


def mixed_day_rows_on(day: str) -> list[GoldRow]:
    n = len(half_hours(day))
    return gold_rows(
        day,
        {
            "nucleaire": [900.0 + i for i in range(n)],
            "eolien": [None if i % 7 == 0 else 123.456 + i / 3 for i in range(n)],
            "solaire": [max(0.0, 40.0 - abs(i - 25) * 3.3) for i in range(n)],
            "pompage": -12.5,
            "consommation": 1500.25,
        },
        tch={"nucleaire": 71.25, "eolien": [i / 7 for i in range(n)]},
    )


def test_same_rows_give_a_byte_identical_document_and_shuffled_rows_the_same_one() -> None:
    rows = mixed_day_rows()
    first = only_day(rows, "84")
    again = only_day(list(rows), "84")
    shuffled = list(rows)
    random.Random(7).shuffle(shuffled)
    assert canonical_json(first) == canonical_json(again) == canonical_json(only_day(shuffled, "84"))
    assert first["content_hash"] == content_hash(first)
    changed = [
        r._replace(valeur_mw=901.0) if r.source_name == "nucleaire" and r.valeur_mw == 900.0 else r for r in rows
    ]
    assert only_day(changed, "84")["content_hash"] != first["content_hash"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_rows_with_reloads_and_quarter_hours_give_the_same_document(seed: int) -> None:
    start = half_hours("2024-06-15")[0]
    quarter = GoldRow(
        (start + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "2024-06-15",
        "eolien",
        33.3,
        None,
        LOADED,
        DEFINITIVE,
    )
    reload = gold_rows("2024-06-15", {"eolien": 21.7, "solaire": 3.1}, loaded_at="2025-03-01T00:00:00.000000Z")
    rows = [*mixed_day_rows_on("2024-06-15"), *reload[:20], quarter]
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    assert canonical_json(only_day(shuffled, "84")) == canonical_json(only_day(rows, "84"))


def test_rows_with_superseded_loads_give_the_document_of_the_latest_rows_alone() -> None:
    # Unique half-hour rows take the direct path; adding older editions of some of them takes the sorting
    # path: the same document either way, load-factor averages on .0005 ties included (2-decimal TCH values).
    loads = [13.33, 15.0, 20.0, 15.83, 18.33, 20.0, 18.33, 22.5, 20.83, 23.33, 25.83, 29.17] * 4
    latest = gold_rows("2024-01-12", {"eolien": 1200.5, "hydraulique": 300.0}, tch={"eolien": loads})
    older = gold_rows("2024-01-12", {"eolien": 1.0}, tch={"eolien": 1.0}, loaded_at="2024-12-01T00:00:00.000000Z")
    direct = only_day(latest, "84")
    assert direct["totals"]["facteur_charge_avg"]["eolien"] == round(sum(loads) / len(loads), 3)
    assert canonical_json(only_day([*older[:10], *latest], "84")) == canonical_json(direct)


def test_built_documents_hash_alike_through_the_fast_and_the_full_number_walk() -> None:
    doc = only_day(mixed_day_rows(), "84")
    assert doc["content_hash"] == content_hash(doc) == content_hash(doc, numbers_canonical=True)
    # A store that hands integral values back as floats (pydantic model_dump) does not change the hash.
    assert content_hash(DayDocument.model_validate(doc).model_dump()) == doc["content_hash"]
    assert all(
        v is None or round(v, 3) == v for i in doc["intervals"] for v in (i["production_mw"], *i["sources"].values())
    )


mw_values = st.one_of(st.none(), st.floats(min_value=-500, max_value=20000, allow_nan=False).map(lambda v: round(v, 1)))


@settings(max_examples=60, deadline=None)
@given(
    day=st.sampled_from(["2024-06-15", "2024-03-31", "2024-10-27"]),
    data=st.data(),
)
def test_property_day_energy_is_the_sum_of_its_intervals(day: str, data: st.DataObject) -> None:
    n = len(half_hours(day))
    eolien = data.draw(st.lists(mw_values, min_size=n, max_size=n))
    thermique = data.draw(st.lists(mw_values, min_size=n, max_size=n))
    doc = only_day(gold_rows(day, {"eolien": eolien, "thermique": thermique}))
    for source, values in (("eolien", eolien), ("thermique", thermique)):
        energy = doc["totals"]["energy_mwh"][source]
        from_intervals = [i["sources"][source] for i in doc["intervals"]]
        assert from_intervals == [None if v is None else pytest.approx(v) for v in values]
        if all(v is None for v in values):
            assert energy is None
        else:
            assert energy == pytest.approx(sum(v * 0.5 for v in from_intervals if v is not None), abs=1e-3)
    assert doc["content_hash"] == content_hash(doc)  # the fast hash path agrees with the full walk
    production = [i["production_mw"] for i in doc["intervals"]]
    expected_production = doc["totals"]["production_mwh"]
    if all(p is None for p in production):
        assert expected_production is None
    else:
        assert expected_production == pytest.approx(sum(p * 0.5 for p in production if p is not None), abs=1e-3)


# --- month rollup ---------------------------------------------------------------------------------------


def month_of_days(month: str, *, skip: Sequence[str] = (), nature: str = DEFINITIVE) -> list[dict[str, Any]]:
    rows = [
        r
        for i, day in enumerate(month_days(month))
        if day not in skip
        for r in gold_rows(
            day, {"eolien": 10.0 + i, "nucleaire": None if i % 2 else 100.0, "consommation": 200.0}, nature=nature
        )
    ]
    return build_day_documents("44", rows)


def test_month_sums_its_days_in_date_order() -> None:
    days = month_of_days("2024-10")
    shuffled = list(reversed(days))
    month = build_month_document("44", "2024-10", shuffled)
    MonthDocument.model_validate(month)
    assert [d["date"] for d in month["days"]] == month_days("2024-10")
    assert month["id"] == "44:2024-10" and month["key"] == "2024-10" and month["final"] is True
    assert month["days"][26]["timestamp"] == "2024-10-27T00:00:00+02:00" and month["days"][26]["interval_count"] == 50
    assert month["days"][27]["timestamp"] == "2024-10-28T00:00:00+01:00"
    # Independent sums: eolien = Σ_i (10 + i) MW × half-hours(day_i) × 0.5 h.
    expected = sum((10 + i) * len(half_hours(d)) * 0.5 for i, d in enumerate(month_days("2024-10")))
    assert month["energy_mwh"]["eolien"] == pytest.approx(expected)
    assert month["energy_mwh"]["solaire"] is None
    assert month["consumption_mwh"] == pytest.approx(200 * (31 * 48 + 2) * 0.5)
    emitted = sum(d["totals"]["emissions_tco2eq"] for d in days)
    basis = sum(d["totals"]["carbon_basis_mwh"] for d in days)
    assert month["carbon_intensity_g_per_kwh"] == pytest.approx(emitted * 1000 / basis, abs=1e-3)
    assert month["production_mwh"] == pytest.approx(sum(d["totals"]["production_mwh"] for d in days))
    assert month["content_hash"] == content_hash(month)
    assert build_month_document("44", "2024-10", days)["content_hash"] == month["content_hash"]


@pytest.mark.parametrize(
    ("skip", "nature", "final"),
    [((), DEFINITIVE, True), (("2024-02-29",), DEFINITIVE, False), ((), CONSOLIDATED, False)],
)
def test_month_is_final_only_with_every_calendar_day_final(skip: tuple[str, ...], nature: str, final: bool) -> None:
    month = build_month_document("44", "2024-02", month_of_days("2024-02", skip=skip, nature=nature))
    assert month["final"] is final and len(month["days"]) == 29 - len(skip)


@pytest.mark.parametrize(
    ("region", "month", "message"),
    [("44", "2024-11", "not a day of"), ("32", "2024-10", "not a day of"), ("99", "2024-10", "unknown region")],
)
def test_month_refuses_days_of_another_region_or_month(region: str, month: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_month_document(region, month, month_of_days("2024-10")[:2])


def test_month_refuses_duplicate_days_and_no_days() -> None:
    days = month_of_days("2024-10")[:1]
    with pytest.raises(ValueError, match="two day documents"):
        build_month_document("44", "2024-10", days + days)
    with pytest.raises(ValueError, match="no day documents"):
        build_month_document("44", "2024-10", [])


# --- real éCO2mix data (RTE via ODRÉ), when ../shared/data is present ----------------------------------

ODRE_HDF_2024 = (
    Path(__file__).resolve().parents[4]
    / "shared/data/eco2mix/odre_regional/hanyuqi83-blip__Energy-4-Climate-Project/eco2mix-regional-cons-def.csv"
)
ODRE_COLUMNS = {
    "Consommation (MW)": "consommation",
    "Thermique (MW)": "thermique",
    "Nucléaire (MW)": "nucleaire",
    "Eolien (MW)": "eolien",
    "Solaire (MW)": "solaire",
    "Hydraulique (MW)": "hydraulique",
    "Pompage (MW)": "pompage",
    "Bioénergies (MW)": "bioenergies",
    "Ech. physiques (MW)": "ech_physiques",
}


def odre_rows(path: Path, months: tuple[str, ...]) -> list[GoldRow]:
    """A minimal reading of an ODRÉ export (the importer's job, redone here for an independent check)."""
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig", index_col=False)
    frame = frame[frame["Date"].str[:7].isin(months)]
    instants = pd.to_datetime(frame["Date - Heure"], utc=True)
    stamps = instants.dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    days = instants.dt.tz_convert(PARIS).dt.strftime("%Y-%m-%d").tolist()
    natures = frame["Nature"].tolist()
    rows = []
    for column, source in ODRE_COLUMNS.items():
        for stamp, day, value, nature in zip(stamps, days, frame[column].tolist(), natures, strict=True):
            rows.append(GoldRow(stamp, day, source, None if pd.isna(value) else float(value), None, LOADED, nature))
    return rows


@pytest.mark.skipif(not ODRE_HDF_2024.exists(), reason="real éCO2mix data (../shared/data) not present")
def test_real_hauts_de_france_months_reconcile_with_an_independent_sum() -> None:
    rows = odre_rows(ODRE_HDF_2024, ("2024-03", "2024-10"))
    docs = {d["date"]: d for d in build_day_documents("32", rows)}
    assert len(docs) == 31 + 31
    unique = {(r.horodatage_utc, r.source_name): r for r in rows}  # the file repeats 03:00 on 2024-03-31
    expected: dict[tuple[str, str], float] = {}
    for r in unique.values():
        if r.valeur_mw is not None:
            expected[(r.date_locale, r.source_name)] = (
                expected.get((r.date_locale, r.source_name), 0.0) + r.valeur_mw * 0.5
            )
    for day, doc in docs.items():
        DayDocument.model_validate(doc)
        for source in ODRE_COLUMNS.values():
            got = doc["totals"]["consumption_mwh"] if source == "consommation" else doc["totals"]["energy_mwh"][source]
            assert got == pytest.approx(expected[(day, source)], abs=1e-3), (day, source)
        assert doc["nature"] == CONSOLIDATED and doc["final"] is False
        assert 11.0 <= doc["totals"]["carbon_intensity_g_per_kwh"] <= 490.0
    spring, autumn = docs["2024-03-31"], docs["2024-10-27"]
    assert (spring["interval_count"], spring["intervals_with_data"]) == (46, 46)
    # The export has no 02:00+02:00 hour on the autumn day: those two half-hours stay null.
    assert (autumn["interval_count"], autumn["intervals_with_data"]) == (50, 48)
    assert autumn["intervals"][4]["timestamp"] == "2024-10-27T02:00:00+02:00"
    assert autumn["intervals"][4]["consumption_mw"] is None and autumn["hourly"][2]["production_mw"] is None


@pytest.mark.parametrize("seed", range(5))
def test_the_carbon_terms_in_arrays_are_the_carbon_modules_to_the_bit(seed: int) -> None:
    # Negative values (clamped), missing values, rows with no production at all, integral and fractional.
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(100, 400, (300, len(PRODUCTION_SOURCES))), int(rng.integers(0, 4)))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:5] = np.nan
    frame = pd.DataFrame(values, columns=list(PRODUCTION_SOURCES))
    weighted, basis = carbon_terms(frame)
    got_weighted, got_basis = carbon_term_arrays(values)
    assert np.array_equal(got_weighted, weighted.to_numpy(), equal_nan=True)
    assert np.array_equal(got_basis, basis.to_numpy(), equal_nan=True)
