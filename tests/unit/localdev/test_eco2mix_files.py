"""Parser of éCO2mix regional files, on excerpts of the real files (tests/fixtures/eco2mix, source: RTE
éCO2mix via ODRÉ) and on small malformed variants."""

from __future__ import annotations

import io
import math
import zipfile
from datetime import UTC, datetime, timedelta
from datetime import date as _date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localdev.eco2mix_files import (
    FORMAT_ODRE,
    FORMAT_RTE,
    Eco2mixFormatError,
    Fact,
    NationalFileError,
    ParsedFile,
    parse_eco2mix,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "eco2mix"
ALL_NINE = {
    "consommation",
    "thermique",
    "nucleaire",
    "eolien",
    "solaire",
    "hydraulique",
    "pompage",
    "bioenergies",
    "ech_physiques",
}


def parse_fixture(name: str) -> ParsedFile:
    path = FIXTURES / name
    return parse_eco2mix(str(path), path.read_bytes())


def minute_of(iso_utc: str) -> int:
    return int(datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).timestamp()) // 60


def fact(parsed: ParsedFile, iso_utc: str, source: str) -> Fact:
    matches = [f for f in parsed.facts if f.minute == minute_of(iso_utc) and f.source == source]
    assert len(matches) == 1, f"{len(matches)} facts for {iso_utc} {source}"
    return matches[0]


@pytest.mark.parametrize(
    ("fixture", "fmt", "region", "half_hours", "sources", "skipped"),
    [
        # 2 DST mornings x 10 rows; the spring 02:00/02:30 rows name nonexistent times and are dropped.
        ("odre_cons_def_hdf_dst.csv", FORMAT_ODRE, "32", 18, ALL_NINE, 2),
        # 8 quarter-hours -> 4 half-hours; Nucléaire empty everywhere: no facts; 2 forecast rows dropped.
        ("odre_tr_paca_2019.csv", FORMAT_ODRE, "93", 4, ALL_NINE - {"nucleaire"}, 2),
        ("odre_tr_paca_2020_imports.csv", FORMAT_ODRE, "93", 4, ALL_NINE - {"nucleaire"}, 0),
        # ND row and empty :15/:45 rows make nothing; '-' Nucléaire makes no facts.
        ("rte_paca_2013.csv", FORMAT_RTE, "93", 3 + 4 + 6, ALL_NINE - {"nucleaire"}, 2),
        ("rte_idf_2017.xls", FORMAT_RTE, "11", 2 + 6, ALL_NINE - {"nucleaire", "pompage"}, 0),
        ("rte_idf_tr_2020.xls", FORMAT_RTE, "11", 2, ALL_NINE - {"nucleaire", "pompage"}, 0),
        ("rte_occitanie_2018.csv", FORMAT_RTE, "76", 2, ALL_NINE, 0),
    ],
)
def test_each_layout_parses_to_half_hourly_facts(
    fixture: str, fmt: str, region: str, half_hours: int, sources: set[str], skipped: int
) -> None:
    parsed = parse_fixture(fixture)
    assert parsed.format == fmt
    assert parsed.region_codes == (region,)
    assert {f.source for f in parsed.facts} == sources
    assert len({f.minute for f in parsed.facts}) == half_hours
    assert len(parsed.facts) == half_hours * len(sources)
    assert all(f.minute % 30 == 0 for f in parsed.facts)
    assert parsed.rows_skipped == skipped


def test_odre_instants_come_from_date_heure_with_offset_across_both_dst_changes() -> None:
    parsed = parse_fixture("odre_cons_def_hdf_dst.csv")
    # Spring: 01:30+01:00 is followed by 03:00+02:00 (01:00Z): no 01:30Z instant exists.
    assert fact(parsed, "2024-03-31T00:30:00Z", "consommation").valeur_mw == 5106
    assert fact(parsed, "2024-03-31T01:00:00Z", "consommation").valeur_mw == 4981
    # Autumn: 01:30+02:00 (23:30Z) then 02:00+01:00 (01:00Z); 00:00Z and 00:30Z are simply absent.
    assert fact(parsed, "2024-10-26T23:30:00Z", "consommation").valeur_mw == 4580
    assert fact(parsed, "2024-10-27T01:00:00Z", "consommation").valeur_mw == 4268
    assert not [f for f in parsed.facts if f.minute == minute_of("2024-10-27T00:00:00Z")]
    tch = fact(parsed, "2024-10-27T01:00:00Z", "nucleaire")
    assert tch.facteur_charge is not None and tch.facteur_charge > 0
    assert fact(parsed, "2024-10-27T01:00:00Z", "ech_physiques").facteur_charge is None  # no TCH for exchanges


def test_rte_wall_clock_times_are_converted_and_the_lone_autumn_hour_is_standard_time() -> None:
    parsed = parse_fixture("rte_paca_2013.csv")
    assert fact(parsed, "2012-12-31T23:30:00Z", "consommation").valeur_mw == 5570  # 01/01/2013 00:30 +01:00
    assert fact(parsed, "2013-10-26T23:30:00Z", "consommation").valeur_mw == 3639  # 01:30 +02:00
    assert fact(parsed, "2013-10-27T01:00:00Z", "consommation").valeur_mw == 3589  # lone 02:00 -> +01:00
    assert fact(parsed, "2013-03-31T01:00:00Z", "consommation").valeur_mw == 4937  # 03:00 +02:00
    assert fact(parsed, "2013-10-27T01:00:00Z", "pompage").valeur_mw == -51  # negative values kept
    assert fact(parsed, "2013-10-27T01:00:00Z", "thermique").nature == "Données définitives"  # Latin-1 decoded


def _rte_text(rows: list[str], header: str | None = None) -> bytes:
    head = header or "Périmètre;Nature;Date;Heures;Consommation;Thermique;Nucléaire;Pompage;Ech. physiques"
    return ("\n".join([head, *rows]) + "\n").encode("latin-1")


def test_a_repeated_autumn_time_is_first_summer_then_winter_time() -> None:
    data = _rte_text(
        [
            "PACA;Données définitives;27/10/2013;02:00;3600;100;-;0;3500",
            "PACA;Données définitives;27/10/2013;02:00;3500;100;-;0;3400",
        ]
    )
    parsed = parse_eco2mix("dup.csv", data)
    assert fact(parsed, "2013-10-27T00:00:00Z", "consommation").valeur_mw == 3600  # +02:00
    assert fact(parsed, "2013-10-27T01:00:00Z", "consommation").valeur_mw == 3500  # +01:00


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("ND;100;-;0;3500", {"consommation": None, "thermique": 100.0, "pompage": 0.0, "ech_physiques": 3500.0}),
        (";100;-;;3500", {"consommation": None, "thermique": 100.0, "pompage": None, "ech_physiques": 3500.0}),
        ("3600;-;-;-;3500", {"consommation": 3600.0, "ech_physiques": 3500.0}),
    ],
)
def test_missing_cells_are_null_and_dash_means_no_fact(cells: str, expected: dict[str, float | None]) -> None:
    data = _rte_text(
        [
            f"PACA;Données définitives;01/01/2013;00:00;{cells}",
            "PACA;Données définitives;01/01/2013;00:30;3600;100;-;0;3500",  # makes every column present
        ]
    )
    parsed = parse_eco2mix("cells.csv", data)
    first = {f.source: f.valeur_mw for f in parsed.facts if f.minute == minute_of("2012-12-31T23:00:00Z")}
    assert first == expected


def test_real_time_half_hour_is_the_mean_of_both_quarter_hours_and_forecasts_are_left_out() -> None:
    parsed = parse_fixture("odre_tr_paca_2019.csv")
    assert fact(parsed, "2019-09-30T22:00:00Z", "consommation").valeur_mw == (4001 + 3915) / 2
    assert fact(parsed, "2019-09-30T23:30:00Z", "consommation").valeur_mw == (3510 + 3467) / 2
    assert not [f for f in parsed.facts if f.nature.startswith("Données prév")]
    idf = parse_fixture("rte_idf_tr_2020.xls")
    assert fact(idf, "2020-06-30T22:00:00Z", "consommation").valeur_mw == (6323 + 6095) / 2
    assert fact(idf, "2020-06-30T22:00:00Z", "thermique").facteur_charge == pytest.approx((12.97 + 13.6) / 2)


def test_a_half_hour_with_one_quarter_hour_is_left_out() -> None:
    header = "Périmètre;Nature;Date;Heures;Consommation;Thermique"
    rows = [
        "PACA;Données temps réel;2020-07-01;00:00;100;10",
        "PACA;Données temps réel;2020-07-01;00:15;120;20",
        "PACA;Données temps réel;2020-07-01;00:30;130;30",
    ]
    parsed = parse_eco2mix("tr.csv", _rte_text(rows, header))
    assert [(f.source, f.valeur_mw) for f in parsed.facts] == [("thermique", 15.0), ("consommation", 110.0)]
    assert parsed.half_hours_incomplete == 1


def test_half_hourly_days_and_real_time_days_can_share_a_file() -> None:
    header = "Périmètre;Nature;Date;Heures;Consommation"
    rows = [
        "PACA;Données consolidées;2020-06-30;23:00;100",
        "PACA;Données consolidées;2020-06-30;23:15;",
        "PACA;Données consolidées;2020-06-30;23:30;200",
        "PACA;Données temps réel;2020-07-01;00:00;300",
        "PACA;Données temps réel;2020-07-01;00:15;310",
        "PACA;Données temps réel;2020-07-01;00:30;320",
    ]
    parsed = parse_eco2mix("mixed.csv", _rte_text(rows, header))
    assert [(f.minute, f.valeur_mw) for f in parsed.facts] == [
        (minute_of("2020-06-30T21:00:00Z"), 100.0),
        (minute_of("2020-06-30T21:30:00Z"), 200.0),
        (minute_of("2020-06-30T22:00:00Z"), 305.0),
    ]
    assert parsed.half_hours_incomplete == 1  # 00:30 has no 00:45


def test_national_file_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(NationalFileError, match="national file, no region"):
        parse_fixture("rte_national_2013.zip")


GOOD_ROW = "PACA;Données définitives;01/01/2013;00:30;5570;537;-;0;3548"


@pytest.mark.parametrize(
    ("rows", "header", "line", "column", "message"),
    [
        ([GOOD_ROW, "PACA;Données définitives;01/01/2013;01:00;55x0;537;-;0;3548"], None, 3, "Consommation", "number"),
        (["PACA;Données définitives;32/01/2013;00:30;1;1;-;0;1"], None, 2, "Date", "not a date"),
        (["PACA;Données définitives;01/01/2013;25:00;1;1;-;0;1"], None, 2, "Heures", "not a time"),
        ([GOOD_ROW, "PACA;Données définitives;01/01/2013;01:00;5570"], None, 3, "Thermique", "expected 9 fields"),
        ([GOOD_ROW + ";42"], None, 2, None, "more fields"),
        (["Atlantis;Données définitives;01/01/2013;00:30;1;1;-;0;1"], None, 2, "Périmètre", "unknown region"),
        (
            ["PACA;Données définitives;01/01/2013;00:30;1;1;-;0;1"],
            "Zone;Nature;Date;Heures;Consommation",
            1,
            "Zone",
            "Périmètre",
        ),
        ([GOOD_ROW], "Périmètre;Nature;Date;Heures;Prix", 1, None, "no éCO2mix source column"),
        ([GOOD_ROW, GOOD_ROW.replace("5570", "5571")], None, 3, None, "already given at line 2"),
        ([GOOD_ROW.replace("01/01/2013;00:30", "27/10/2013;02:00")] * 3, None, 4, None, "more than twice"),
        (["RTE ne pourra être tenu responsable", GOOD_ROW], None, 2, None, "disclaimer"),
        (["PACA;Données définitives;01/01/2013;00:10;1;1;-;0;1"], None, 2, None, "quarter-hour"),
    ],
)
def test_malformed_files_name_file_line_and_column(
    rows: list[str], header: str | None, line: int, column: str | None, message: str
) -> None:
    with pytest.raises(Eco2mixFormatError, match=message) as caught:
        parse_eco2mix("bad.csv", _rte_text(rows, header))
    assert caught.value.file == "bad.csv"
    assert caught.value.line == line
    assert caught.value.column == column
    assert str(caught.value).startswith(f"bad.csv, line {line}")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"PK\x03\x04not really a zip", "not a readable zip"),
        (
            "Code INSEE région;Région;Nature;Date;Heure;Date - Heure;Consommation (MW)\n"
            "93;PACA;Données temps réel;2019-10-01;00:00;2019-10-01 00:00;4001\n".encode(),
            "not an ISO instant with offset",
        ),
    ],
)
def test_unreadable_files_raise_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(Eco2mixFormatError, match=message):
        parse_eco2mix("bad.csv", data)


def test_facts_are_sorted_and_unique_per_key() -> None:
    parsed = parse_fixture("odre_tr_paca_2020_imports.csv")
    keys = [(f.region_code, f.minute, f.source) for f in parsed.facts]
    assert len(keys) == len(set(keys))
    assert [k[1] for k in keys] == sorted(k[1] for k in keys)
    assert datetime.fromtimestamp(min(k[1] for k in keys) * 60, UTC).isoformat() == "2020-04-30T22:00:00+00:00"


# --- property: wall-clock RTE files against an independent oracle (pandas tz_localize) ---------------------


CELL = st.one_of(st.integers(-3000, 15000).map(str), st.sampled_from(["ND", "", "-"]))
DST_DAYS = [_date(2013, 3, 31), _date(2013, 10, 27), _date(2024, 3, 31), _date(2024, 10, 27), _date(2019, 6, 1)]


@settings(max_examples=25, deadline=None)
@given(first_day=st.sampled_from(DST_DAYS), data=st.data())
def test_rte_wall_clock_rows_map_to_the_instants_pandas_gives(first_day: _date, data: st.DataObject) -> None:
    """One RTE day of 96 quarter rows (values at :00/:30, as the annual files), random cells."""
    rows, expected = [], {}
    for quarter in range(96):
        clock = f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"
        cells = data.draw(st.tuples(CELL, CELL)) if quarter % 2 == 0 else ("", "")
        rows.append(f"PACA;Données définitives;{first_day:%d/%m/%Y};{clock};{cells[0]};{cells[1]}")
        if not any(c not in ("", "ND", "-") for c in cells):
            continue  # no data in the row: no facts
        local = pd.Timestamp(f"{first_day} {clock}")
        # A lone ambiguous autumn time is standard time (+01:00); nonexistent spring times have no instant.
        instant = pd.DatetimeIndex([local]).tz_localize("Europe/Paris", ambiguous=[False], nonexistent="NaT")[0]
        if instant is pd.NaT:
            continue
        minute = int(instant.tz_convert("UTC").timestamp()) // 60
        for source, cell in zip(("consommation", "thermique"), cells, strict=True):
            if cell != "-":
                expected[(minute, source)] = None if cell in ("", "ND") else float(cell)
    parsed = parse_eco2mix("prop.csv", _rte_text(rows, "Périmètre;Nature;Date;Heures;Consommation;Thermique"))
    present = {s for (_, s), v in expected.items() if v is not None}
    assert {(f.minute, f.source): f.valeur_mw for f in parsed.facts} == {
        k: v for k, v in expected.items() if k[1] in present
    }
    assert all(timedelta(minutes=f.minute).seconds % 1800 == 0 for f in parsed.facts)


def _utf8_text(rows: list[str]) -> bytes:
    """The RTE layout in UTF-8, so that any character can be put in a cell."""
    head = "Périmètre;Nature;Date;Heures;Consommation;Thermique;Nucléaire;Pompage;Ech. physiques"
    return ("\n".join([head, *rows]) + "\n").encode("utf-8", "surrogatepass")


BAD_NUMBERS = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1_000", "1e999", "-1e999", "١٢", "１２", "1 2"]
BAD_NUMBERS += ["0x10", "1.2.3", "+", ".", "e5", "5e", "1,5,0", "∞"]
BAD_DAYS = ["01/01/0001", "0001-01-01", "31/12/9999", "9999-12-31", "01/01/1999", "01/01/2100", "1/1/2_013"]
BAD_DAYS += ["20130101", "2013-W01-1", "2013-001", "０１/０１/２０１３"]
BAD_CLOCKS = ["1_0:00", "１２:００", "1 :00", "1:0", "01:30:xx", "24:00", "-1:00"]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [(GOOD_ROW.replace("5570", text), "Consommation", "not a number") for text in BAD_NUMBERS]
    + [(GOOD_ROW.replace("01/01/2013", text), "Date", "not a date") for text in BAD_DAYS]
    + [(GOOD_ROW.replace("00:30", text), "Heures", "not a time") for text in BAD_CLOCKS],
)
def test_cells_float_and_date_would_take_are_rejected(row: str, column: str, message: str) -> None:
    with pytest.raises(Eco2mixFormatError, match=message) as caught:
        parse_eco2mix("bad.csv", _utf8_text([row]))
    assert (caught.value.line, caught.value.column) == (2, column)


def test_an_odre_instant_in_year_1_is_a_format_error_not_an_overflow() -> None:
    data = (
        "Code INSEE région;Région;Nature;Date;Heure;Date - Heure;Consommation (MW)\n"
        "93;PACA;Données définitives;0001-01-01;00:00;0001-01-01T00:00:00+01:00;4001\n"
    ).encode()
    with pytest.raises(Eco2mixFormatError, match=r"not a date|year outside"):
        parse_eco2mix("bad.csv", data)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_expanded() -> None:
    bomb = _zip({"eCO2mix_RTE_PACA_Annuel-Definitif_2013.xls": b"0" * (50 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024
    with pytest.raises(Eco2mixFormatError, match="expands to 52428800 bytes"):
        parse_eco2mix("bomb.zip", bomb)


def test_a_plain_zip_of_one_file_still_parses() -> None:
    parsed = parse_eco2mix("ok.zip", _zip({"paca.csv": _utf8_text([GOOD_ROW])}))
    assert parsed.file == "ok.zip!paca.csv" and parsed.facts


# Any text in a number, date or time cell: either facts with finite values or Eco2mixFormatError, nothing else.
FUZZ_EXAMPLES = 600


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    cell=st.sampled_from(["5570", "01/01/2013", "00:30"]),
    text=st.one_of(
        st.text(max_size=12),
        st.from_regex(r"[-+]?[0-9_.,eE]{1,10}", fullmatch=True),
        st.sampled_from([*BAD_NUMBERS, *BAD_DAYS, *BAD_CLOCKS]),
    ),
)
def test_any_cell_text_parses_or_is_a_format_error(cell: str, text: str) -> None:
    if any(c in text for c in ";\n\r\t,\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        text = "x"  # a separator or a line break would change the row's shape, not the cell
    try:
        parsed = parse_eco2mix("fuzz.csv", _utf8_text([GOOD_ROW.replace(cell, text, 1)]))
    except Eco2mixFormatError:
        return
    assert all(f.valeur_mw is None or math.isfinite(f.valeur_mw) for f in parsed.facts)
    assert all(f.facteur_charge is None or math.isfinite(f.facteur_charge) for f in parsed.facts)
