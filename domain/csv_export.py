"""CSV files of day documents (half-hour rows) and month documents (one row per day), one region or several.

Made for French spreadsheet users: UTF-8 with BOM (so Excel reads the accents), `;` separator, decimal
comma, CRLF line ends, a header row whose names carry the units. Each row names its region (code and name),
so files of several regions and files read out of context stay unambiguous. Timestamps are ISO 8601 with
the local offset, so the repeated 02:00 hour of the autumn DST day stays unambiguous; beside them the local
date (JJ/MM/AAAA) and time (HH:MM) are cells a French spreadsheet reads as a date and a time. A missing
value is an empty cell, never 0. Every source is always a column, in a fixed order, whether the region has
it or not. Numbers are written as the documents hold them (rounded to 3 decimals), without trailing zeros.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from domain.sources import BALANCE_SOURCES, PRODUCTION_SOURCES

SEPARATOR: Final[str] = ";"
LINE_END: Final[str] = "\r\n"
BOM: Final[bytes] = b"\xef\xbb\xbf"
DECIMALS: Final[int] = 3
_SERIES_SOURCES: Final[tuple[str, ...]] = (*PRODUCTION_SOURCES, *BALANCE_SOURCES)

DAY_COLUMNS: Final[tuple[str, ...]] = (
    "code_region",
    "nom_region",
    "horodatage",
    "date_locale",
    "heure_locale",
    "production_totale_MW",
    "consommation_MW",
    *(f"{s}_MW" for s in _SERIES_SOURCES),
    *(f"facteur_charge_{s}_pct" for s in PRODUCTION_SOURCES),
    "intensite_carbone_gCO2eq_par_kWh",
)
# The number cells of a day row, in DAY_COLUMNS order: what `render_day_csvs` takes as arrays.
DAY_NUMBER_COLUMNS: Final[tuple[str, ...]] = DAY_COLUMNS[5:]
MONTH_COLUMNS: Final[tuple[str, ...]] = (
    "code_region",
    "nom_region",
    "horodatage",
    "date_locale",
    "nombre_demi_heures",
    "production_totale_MWh",
    "consommation_MWh",
    *(f"{s}_MWh" for s in _SERIES_SOURCES),
    "production_moyenne_MW",
    "production_pointe_MW",
    "consommation_moyenne_MW",
    "consommation_pointe_MW",
    *(f"facteur_charge_moyen_{s}_pct" for s in PRODUCTION_SOURCES),
    "intensite_carbone_gCO2eq_par_kWh",
    "emissions_tCO2eq",
    "donnees_definitives",
)


# Below this magnitude two different 3-decimal numbers are always two different floats, so the shortest
# repr of a float already rounded to 3 decimals is exactly its fixed 3-decimal form without trailing zeros.
_REPR_EXACT_BELOW: Final[float] = 1e12


def format_number(value: Any) -> str:
    """`1234.5` → `1234,5`; None → empty cell; at most DECIMALS decimals, no trailing zeros, no `-0`."""
    kind = type(value)
    if kind is int:
        return str(value)
    # Fast path (the documents' numbers are already rounded): repr instead of formatting and stripping.
    if kind is float and -_REPR_EXACT_BELOW < value < _REPR_EXACT_BELOW and value == round(value, DECIMALS):
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
        return "0" if text == "-0" else text.replace(".", ",")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r}: a missing value must be None")
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if text == "-0":  # a value that rounds to zero keeps no sign
        text = "0"
    return text.replace(".", ",")


if TYPE_CHECKING:
    import numpy as np

# Cells by table lookup (a fancy index and one string concatenation per number, in C): the whole part
# below _WHOLE_TABLE, then the thousandths (",5" for 500, "" for 0). Larger magnitudes take format_number.
_WHOLE_TABLE: Final[int] = 100_000


@cache
def _cell_tables() -> tuple[np.ndarray, np.ndarray]:
    """(whole parts, thousandths): built by the first array rendering, so that the processes rendering
    documents one by one (bulk exports over HTTP) import no numpy and hold no 100,000 strings (~7 MiB)."""
    import numpy as np

    wholes = np.array([str(n) for n in range(_WHOLE_TABLE)], dtype=object)
    thousandths = np.array(["", *("," + f"{k:0{DECIMALS}d}".rstrip("0") for k in range(1, 10**DECIMALS))], dtype=object)
    return wholes, thousandths


def format_numbers(values: np.ndarray) -> np.ndarray:
    """`format_number` of every element of a float array (an object array of str of the same shape; NaN is
    the empty cell). The values must already be rounded to DECIMALS, as the documents hold them."""
    import numpy as np

    wholes, thousandths = _cell_tables()
    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    slow = present & ~(np.abs(values) < _WHOLE_TABLE - 1)  # large or infinite: one by one
    fast = present & ~slow
    scaled = np.rint(np.where(fast, values, 0.0) * 10**DECIMALS).astype(np.int64)
    magnitude = np.abs(scaled)
    text = wholes[magnitude // 10**DECIMALS] + thousandths[magnitude % 10**DECIMALS]
    negative = scaled < 0  # a value that rounds to 0 scales to 0: no "-0"
    if negative.any():
        text[negative] = "-" + text[negative]
    text[~present] = ""
    if slow.any():
        text[slow] = [format_number(float(v)) for v in values[slow]]
    return text


def format_flag(value: bool) -> str:
    return "oui" if value else "non"


def format_text(value: str) -> str:
    """A text cell, quoted (RFC 4180) only when it holds the separator, a quote or a line end."""
    if any(c in value for c in (SEPARATOR, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def local_date(iso: str) -> str:
    """`2024-10-27...` → `27/10/2024`: the date form a French spreadsheet reads as a date."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def local_time(timestamp: str) -> str:
    """`2024-10-27T02:30:00+01:00` → `02:30` (local wall clock; the offset stays in `horodatage`)."""
    return timestamp[11:16]


def _by_source(values: Mapping[str, Any] | None, sources: Sequence[str]) -> list[str]:
    values = values or {}
    return [format_number(values.get(s)) for s in sources]


def current_header(columns: Sequence[str]) -> bytes:
    """The first bytes of a file of this rendering: tells a file written by an older one (other columns)."""
    return BOM + (SEPARATOR.join(columns) + LINE_END).encode("utf-8")


def _render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    lines = [SEPARATOR.join(header), *(SEPARATOR.join(row) for row in rows)]
    return BOM + (LINE_END.join(lines) + LINE_END).encode("utf-8")


def _day_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    region = [format_text(doc["region_code"]), format_text(doc["region_name"])]
    return [
        [
            *region,
            interval["timestamp"],
            local_date(interval["timestamp"]),
            local_time(interval["timestamp"]),
            format_number(interval.get("production_mw")),
            format_number(interval.get("consumption_mw")),
            *_by_source(interval.get("sources"), _SERIES_SOURCES),
            *_by_source(interval.get("facteur_charge"), PRODUCTION_SOURCES),
            format_number(interval.get("carbon_intensity_g_per_kwh")),
        ]
        for interval in doc["intervals"]
    ]


def _month_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    region = [format_text(doc["region_code"]), format_text(doc["region_name"])]
    rows = []
    for day in doc["days"]:
        totals = day["totals"]
        rows.append(
            [
                *region,
                day["timestamp"],
                local_date(day["date"]),
                str(day["interval_count"]),
                format_number(totals.get("production_mwh")),
                format_number(totals.get("consumption_mwh")),
                *_by_source(totals.get("energy_mwh"), _SERIES_SOURCES),
                format_number(totals.get("production_mw_avg")),
                format_number(totals.get("production_mw_peak")),
                format_number(totals.get("consumption_mw_avg")),
                format_number(totals.get("consumption_mw_peak")),
                *_by_source(totals.get("facteur_charge_avg"), PRODUCTION_SOURCES),
                format_number(totals.get("carbon_intensity_g_per_kwh")),
                format_number(totals.get("emissions_tco2eq")),
                format_flag(bool(day["final"])),
            ]
        )
    return rows


def render_day_csv(doc: Mapping[str, Any]) -> bytes:
    """The half-hour rows of a day document, one per interval of the day (46, 48 or 50)."""
    return _render(DAY_COLUMNS, _day_rows(doc))


def render_day_csvs(
    region_code: str, region_name: str, timestamps: Sequence[str], values: np.ndarray, counts: Sequence[int]
) -> list[bytes]:
    """`render_day_csv` of consecutive days of one region from their arrays, in one pass (byte for byte the
    same files): `timestamps` and the rows of `values` (DAY_NUMBER_COLUMNS, rounded as the documents hold
    them, NaN = null) are the days' half-hours in order, `counts[i]` of them for day i."""
    if values.shape != (len(timestamps), len(DAY_NUMBER_COLUMNS)) or sum(counts) != len(timestamps):
        raise ValueError("timestamps, values and counts do not describe the same half-hours")
    prefix = f"{format_text(region_code)}{SEPARATOR}{format_text(region_name)}{SEPARATOR}"
    cells = format_numbers(values).tolist()
    lines = [
        SEPARATOR.join((prefix + stamp, local_date(stamp), local_time(stamp), *row))
        for stamp, row in zip(timestamps, cells, strict=True)
    ]
    header = BOM + (SEPARATOR.join(DAY_COLUMNS) + LINE_END).encode("utf-8")
    files, start = [], 0
    for count in counts:
        body = lines[start : start + count]
        files.append(header + ((LINE_END.join(body) + LINE_END).encode("utf-8") if body else b""))
        start += count
    return files


def render_days_csv(docs: Iterable[Mapping[str, Any]]) -> bytes:
    """The half-hour rows of several day documents (e.g. every region's day), in the order given."""
    return _render(DAY_COLUMNS, [row for doc in docs for row in _day_rows(doc)])


def render_month_csv(doc: Mapping[str, Any]) -> bytes:
    """One row per day of a month document, with the day's energy (MWh) and summary figures."""
    return _render(MONTH_COLUMNS, _month_rows(doc))


def render_months_csv(docs: Iterable[Mapping[str, Any]]) -> bytes:
    """The day rows of several month documents (a year, every region's month...), in the order given."""
    return _render(MONTH_COLUMNS, [row for doc in docs for row in _month_rows(doc)])
