"""Pure parsing of éCO2mix regional files, as they come, into half-hourly Gold facts.

Two layouts (see ../shared/data/eco2mix/SOURCES.md for every quirk):
- ODRÉ exports `eco2mix-regional-*.csv`: `;`, UTF-8 with or without BOM, `Code INSEE région`, `Date - Heure`
  with the local offset (authoritative for the instant), trailing empty `Column NN`, rows in any order,
  15-min real-time rows, TCO/TCH columns, optional Import/Export, battery and offshore columns.
- RTE download files `eCO2mix_RTE_<Région>_*.csv|.xls`: `Périmètre` name instead of a code, local wall-clock
  `Date` (DD/MM/YYYY or ISO) and `Heures`, `;` or TAB (data rows may end with an extra tab) or `,` (a
  re-saved, accent-stripped copy), Latin-1 (a last line may be UTF-8), empty :15/:45 rows, a disclaimer.
National files (Périmètre `France`, e.g. RTE's national zips) hold no region and are rejected.

Cell semantics: `-` = the source does not apply (no fact at all); `ND` or empty = no value (a fact with a
null value, but only when the row carries some data, so empty :15/:45 rows make no facts); never 0.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final

from domain.local_time import PARIS
from domain.regions import REGIONS_BY_CODE, region_code_for_name
from domain.sources import ALL_SOURCES, PRODUCTION_SOURCES

FORMAT_ODRE: Final = "odre_csv"
FORMAT_RTE: Final = "rte_regional"
_NA: Final = "-"  # not applicable: no fact
_MISSING_MARKS: Final = frozenset({"", "ND"})
_DISCLAIMER_KEY: Final = "rtenepourra"  # "RTE ne pourra être tenu responsable …", the RTE trailer line
_ZIP_MAGIC: Final = b"PK\x03\x04"
# A zip member is read only up to this size, and only when it expands at most this many times: real
# éCO2mix archives hold one file of a few MB at a ratio of 4-6, a zip bomb expands thousands of times.
MAX_UNZIPPED_BYTES: Final = 256 * 1024 * 1024
MAX_ZIP_RATIO: Final = 100
# Years a fact may have (the API serves 2000-2099); also keeps datetime arithmetic far from year 1 and 9999.
FIRST_YEAR: Final = 2000
LAST_YEAR: Final = 2099
# ASCII only: float() and int() also take `nan`, `inf`, `1_000`, spaces and non-ASCII digits.
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
_DMY: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_ISO_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CLOCK: Final = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?", re.ASCII)


class Eco2mixFormatError(ValueError):
    """A file that cannot be read as éCO2mix regional data; names the file, line (1-based) and column."""

    def __init__(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.file, self.line, self.column, self.reason = file, line, column, message
        where = file + (f", line {line}" if line is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


class NationalFileError(Eco2mixFormatError):
    """A national (France-wide) file: it has no region, so it has no place in the regional Gold tables."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One Gold fact: a half-hour (UTC start, epoch minutes) of one source in one region."""

    region_code: str
    minute: int
    source: str
    valeur_mw: float | None
    facteur_charge: float | None
    nature: str


@dataclass
class ParsedFile:
    file: str
    format: str
    facts: list[Fact]
    rows_read: int = 0  # data lines, excluding header, blank lines and the disclaimer
    rows_skipped: int = 0  # forecast rows, nonexistent local times (spring DST), duplicate rows
    half_hours_incomplete: int = 0  # 15-min files: half-hours with only one quarter-hour (left out)
    notes: list[str] = field(default_factory=list)

    @property
    def region_codes(self) -> tuple[str, ...]:
        return tuple(sorted({f.region_code for f in self.facts}))


def _key(text: str) -> str:
    """Accent-, case- and punctuation-free column key ('Ech. physiques (MW)' -> 'echphysiquesmw')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


# Source value columns and load-factor (TCH) columns, by column key (with or without the unit).
_SOURCE_KEYS: Final[dict[str, str]] = {
    "consommation": "consommation",
    "thermique": "thermique",
    "nucleaire": "nucleaire",
    "eolien": "eolien",
    "solaire": "solaire",
    "hydraulique": "hydraulique",
    "pompage": "pompage",
    "bioenergies": "bioenergies",
    "echphysiques": "ech_physiques",
}
_VALUE_COLUMNS: Final[dict[str, str]] = {k: v for key, v in _SOURCE_KEYS.items() for k in (key, key + "mw")}
_TCH_COLUMNS: Final[dict[str, str]] = {"tch" + _key(s): s for s in PRODUCTION_SOURCES}  # "TCH Nucléaire (%)"


def _decode_lines(data: bytes) -> list[str]:
    """Lines decoded one by one: UTF-8 when valid, else Latin-1 (RTE files mix them in their last line)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for raw in data.split(b"\n"):
        raw = raw.rstrip(b"\r")
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("latin-1"))
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    sep = max(counts, key=lambda s: counts[s])
    return sep if counts[sep] else ";"


def _unzip(name: str, data: bytes) -> tuple[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise Eco2mixFormatError(name, None, None, f"zip holds {len(members)} files, expected one")
            member = members[0]
            limit = min(MAX_UNZIPPED_BYTES, max(len(data), 1) * MAX_ZIP_RATIO)
            if member.file_size > limit:
                raise Eco2mixFormatError(
                    name, None, None, f"zip member expands to {member.file_size} bytes; at most {limit} are read"
                )
            with archive.open(member) as stream:  # the declared size may lie: never read past the limit
                content = stream.read(limit + 1)
            if len(content) > limit:
                raise Eco2mixFormatError(name, None, None, f"zip member expands past {limit} bytes")
            return f"{name}!{member.filename}", content
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, RuntimeError) as exc:
        # RuntimeError: encrypted member; NotImplementedError: unknown compression method.
        raise Eco2mixFormatError(name, None, None, f"not a readable zip: {exc}") from exc


def _parse_number(text: str, decimal_comma: bool) -> float:
    """A finite decimal number; ValueError for anything else (`nan`, `inf`, `1_000`, `١٢`, ` 1`)."""
    plain = text.replace(",", ".") if decimal_comma else text
    if not _NUMBER.fullmatch(plain):
        raise ValueError(text)
    value = float(plain)
    if not math.isfinite(value):  # 1e999 overflows to inf
        raise ValueError(text)
    return value


def _parse_day(text: str) -> date:
    """DD/MM/YYYY or YYYY-MM-DD within FIRST_YEAR..LAST_YEAR; ValueError otherwise."""
    dmy = _DMY.fullmatch(text)
    if dmy:
        day = date(int(dmy.group(3)), int(dmy.group(2)), int(dmy.group(1)))
    elif _ISO_DAY.fullmatch(text):
        day = date.fromisoformat(text)
    else:
        raise ValueError(text)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"year outside {FIRST_YEAR}-{LAST_YEAR}")
    return day


def _parse_clock(text: str) -> tuple[int, int]:
    match = _CLOCK.fullmatch(text)
    if not match:
        raise ValueError(text)
    h, m = int(match.group(1)), int(match.group(2))
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(text)
    return h, m


@dataclass(slots=True)
class _Row:
    line: int
    region_code: str
    local_day: date
    clock: tuple[int, int]
    nature: str
    values: dict[str, float | str | None]  # float, None (ND/empty) or _NA
    factors: dict[str, float | None]
    explicit_instant: datetime | None  # ODRÉ `Date - Heure`
    has_data: bool


@lru_cache(maxsize=64)
def _is_forecast(nature: str) -> bool:
    return "previsionnel" in _key(nature)


@lru_cache(maxsize=4096)
def _plain_day_offset(day: date) -> timedelta | None:
    """The UTC offset of a Paris day without a DST change (None on the two change days)."""
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).utcoffset()
    end = datetime(day.year, day.month, day.day, 23, 59, tzinfo=PARIS).utcoffset()
    return start if start == end else None


def _local_instant(day: date, clock: tuple[int, int], fold: int) -> datetime | None:
    """The UTC instant of a Paris wall-clock time, or None when that time does not exist (spring gap)."""
    offset = _plain_day_offset(day)
    if offset is not None:  # fast path: every day but two a year
        return datetime(day.year, day.month, day.day, clock[0], clock[1], tzinfo=UTC) - offset
    local = datetime(day.year, day.month, day.day, clock[0], clock[1], tzinfo=PARIS, fold=fold)
    utc = local.astimezone(UTC)
    back = utc.astimezone(PARIS)
    if (back.hour, back.minute) != clock or back.date() != day:
        return None
    return utc


def _is_ambiguous(day: date, clock: tuple[int, int]) -> bool:
    if _plain_day_offset(day) is not None:
        return False
    first = datetime(day.year, day.month, day.day, clock[0], clock[1], tzinfo=PARIS, fold=0)
    return first.utcoffset() != first.replace(fold=1).utcoffset()


def _epoch_minutes(instant: datetime) -> int:
    return int(instant.timestamp()) // 60


def parse_eco2mix(name: str, data: bytes) -> ParsedFile:
    """Parse one éCO2mix regional file (bytes as read from disk, zip allowed) into half-hourly facts.

    Raises Eco2mixFormatError (NationalFileError for national files) naming file, line and column.
    """
    if data.startswith(_ZIP_MAGIC):
        name, data = _unzip(name, data)
    lines = _decode_lines(data)
    if not lines:
        raise Eco2mixFormatError(name, 1, None, "empty file")
    sep = _separator(lines[0])
    header = [h.strip() for h in lines[0].split(sep)]
    while header and not header[-1]:
        header.pop()  # some RTE headers end with the separator too
    keys = [_key(h) for h in header]
    index = {k: i for i, k in reversed(list(enumerate(keys)))}

    if "codeinseeregion" in index:
        fmt = FORMAT_ODRE
        region_col, time_cols = "codeinseeregion", ("date", "heure")
    elif "perimetre" in index:
        fmt = FORMAT_RTE
        region_col, time_cols = "perimetre", ("date", "heures")
    else:
        raise Eco2mixFormatError(name, 1, header[0] if header else None, "no 'Code INSEE région' or 'Périmètre' column")
    for required in (*time_cols, "nature"):
        if required not in index:
            raise Eco2mixFormatError(name, 1, required, "required column is missing")
    value_cols = {i: _VALUE_COLUMNS[k] for i, k in enumerate(keys) if k in _VALUE_COLUMNS}
    tch_cols = {i: _TCH_COLUMNS[k] for i, k in enumerate(keys) if k in _TCH_COLUMNS}
    if not value_cols:
        raise Eco2mixFormatError(name, 1, None, "no éCO2mix source column (Consommation, Thermique, …)")
    datetime_col = index.get("dateheure")
    decimal_comma = sep != ","

    rows: list[_Row] = []
    parsed = ParsedFile(file=name, format=fmt, facts=[])
    region_cache: dict[str, str] = {}
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if line[:3] == "RTE" and _key(line[:40]).startswith(_DISCLAIMER_KEY):
            if line_no != len(lines):
                raise Eco2mixFormatError(name, line_no, None, "disclaimer line before the end of the data")
            break
        fields = [f.strip() for f in line.split(sep)]
        if len(fields) < len(header):
            raise Eco2mixFormatError(
                name, line_no, header[len(fields)], f"expected {len(header)} fields, found {len(fields)}"
            )
        if any(fields[len(header) :]):
            raise Eco2mixFormatError(name, line_no, None, f"more fields than the {len(header)} of the header")
        parsed.rows_read += 1

        def cell(k: str, fields: list[str] = fields) -> str:
            return fields[index[k]]

        raw_region = cell(region_col)
        code = region_cache.get(raw_region)
        if code is None:
            if _key(raw_region) == "france":
                raise NationalFileError(name, line_no, header[index[region_col]], "national file, no region")
            found = (raw_region if raw_region in REGIONS_BY_CODE else None) if fmt == FORMAT_ODRE else None
            found = found or region_code_for_name(raw_region)
            if found is None:
                raise Eco2mixFormatError(name, line_no, header[index[region_col]], f"unknown region {raw_region!r}")
            code = region_cache[raw_region] = found
        try:
            local_day = _parse_day(cell(time_cols[0]))
        except ValueError:
            raise Eco2mixFormatError(
                name, line_no, header[index[time_cols[0]]], f"not a date: {cell(time_cols[0])!r}"
            ) from None
        try:
            clock = _parse_clock(cell(time_cols[1]))
        except ValueError:
            raise Eco2mixFormatError(
                name, line_no, header[index[time_cols[1]]], f"not a time: {cell(time_cols[1])!r}"
            ) from None
        explicit: datetime | None = None
        if datetime_col is not None and fields[datetime_col]:
            try:
                explicit = datetime.fromisoformat(fields[datetime_col])
            except ValueError:
                explicit = None
            if explicit is not None and not FIRST_YEAR <= explicit.year <= LAST_YEAR:
                raise Eco2mixFormatError(
                    name,
                    line_no,
                    header[datetime_col],
                    f"year outside {FIRST_YEAR}-{LAST_YEAR}: {fields[datetime_col]!r}",
                )
            if explicit is None or explicit.tzinfo is None:
                raise Eco2mixFormatError(
                    name, line_no, header[datetime_col], f"not an ISO instant with offset: {fields[datetime_col]!r}"
                )

        values: dict[str, float | str | None] = {}
        has_data = False
        for i, source in value_cols.items():
            text = fields[i]
            if text == _NA:
                values[source] = _NA
            elif text in _MISSING_MARKS:
                values[source] = None
            else:
                try:
                    values[source] = _parse_number(text, decimal_comma)
                except ValueError:
                    raise Eco2mixFormatError(name, line_no, header[i], f"not a number: {text!r}") from None
                has_data = True
        factors: dict[str, float | None] = {}
        for i, source in tch_cols.items():
            text = fields[i]
            if text in _MISSING_MARKS or text == _NA:
                factors[source] = None
            else:
                try:
                    factors[source] = _parse_number(text, decimal_comma)
                except ValueError:
                    raise Eco2mixFormatError(name, line_no, header[i], f"not a number: {text!r}") from None
        rows.append(_Row(line_no, code, local_day, clock, cell("nature"), values, factors, explicit, has_data))

    _rows_to_facts(parsed, rows)
    return parsed


def _assign_instants(parsed: ParsedFile, rows: list[_Row]) -> list[tuple[datetime, _Row]]:
    """UTC instant of each row with data; rows at nonexistent local times (spring DST) are skipped.

    Wall-clock files repeat the autumn hour either twice (first +02:00, then +01:00) or, as every RTE
    file seen so far does, once: a lone ambiguous time is taken as +01:00, as ODRÉ dates the same data.
    """
    labels = Counter((r.region_code, r.local_day, r.clock) for r in rows if r.explicit_instant is None)
    seen: Counter[tuple[str, date, tuple[int, int]]] = Counter()
    out: list[tuple[datetime, _Row]] = []
    for r in rows:
        label = (r.region_code, r.local_day, r.clock)
        if _local_instant(r.local_day, r.clock, 0) is None:
            if r.has_data:
                parsed.rows_skipped += 1  # a wall-clock time that does not exist: its values are copies
            continue
        if r.explicit_instant is not None:
            instant = r.explicit_instant.astimezone(UTC)
        else:
            seen[label] += 1
            fold = 0
            if _is_ambiguous(r.local_day, r.clock):
                if seen[label] > 2:
                    raise Eco2mixFormatError(parsed.file, r.line, None, "ambiguous autumn time given more than twice")
                fold = 0 if labels[label] == 2 and seen[label] == 1 else 1
            local = _local_instant(r.local_day, r.clock, fold)
            assert local is not None
            instant = local
        if not r.has_data:
            continue
        if _is_forecast(r.nature):
            parsed.rows_skipped += 1  # forecasts are not measurements; Gold holds what was observed
            continue
        if instant.minute % 15 or instant.second:
            raise Eco2mixFormatError(parsed.file, r.line, None, f"time {instant:%H:%M} is not on a quarter-hour")
        out.append((instant, r))
    return out


def _mean(a: float | str | None, b: float | str | None) -> float | str | None:
    """Half-hour mean of two quarter-hours: only when both are numbers; '-' when neither applies."""
    if a == _NA and b == _NA:
        return _NA
    if isinstance(a, float) and isinstance(b, float):
        return (a + b) / 2
    return None


def _rows_to_facts(parsed: ParsedFile, rows: list[_Row]) -> None:
    timed = _assign_instants(parsed, rows)
    by_instant: dict[tuple[str, int], _Row] = {}
    for instant, r in timed:
        key = (r.region_code, _epoch_minutes(instant))
        previous = by_instant.get(key)
        if previous is not None:
            if (previous.values, previous.factors) != (r.values, r.factors):
                raise Eco2mixFormatError(
                    parsed.file,
                    r.line,
                    None,
                    f"instant {instant:%Y-%m-%dT%H:%MZ} already given at line {previous.line}",
                )
            parsed.rows_skipped += 1
            continue
        by_instant[key] = r

    # A (region, local day) is real-time (15-min) when any of its rows has data at :15 or :45; a file may mix
    # such days with half-hourly consolidated ones.
    quarter_days = {(code, r.local_day) for (code, minute), r in by_instant.items() if minute % 30}
    # Sources given nowhere in the file (every cell empty, ND or '-') say nothing: no facts for them.
    present = {s for r in by_instant.values() for s, v in r.values.items() if isinstance(v, float)}
    facts: list[Fact] = []
    slots: set[tuple[str, int]] = set()
    for (code, minute), r in by_instant.items():
        if (code, r.local_day) in quarter_days:
            slots.add((code, minute - minute % 30))
        else:
            facts.extend(_facts_of(code, minute, r.nature, r.values, r.factors, present))
    # Gold is half-hourly: a real-time half-hour is the mean of its two quarter-hours, stored only when both
    # are present (one quarter-hour alone is not the half-hour's mean power).
    for code, slot in sorted(slots):
        first, second = by_instant.get((code, slot)), by_instant.get((code, slot + 15))
        if first is None or second is None:
            parsed.half_hours_incomplete += 1
            continue
        values = {s: _mean(first.values.get(s), second.values.get(s)) for s in first.values}
        factors = {s: _mean(first.factors.get(s), second.factors.get(s)) for s in first.factors}
        if not any(isinstance(v, float) for v in values.values()):
            parsed.half_hours_incomplete += 1
            continue
        facts.extend(_facts_of(code, slot, first.nature, values, factors, present))
    facts.sort(key=lambda f: (f.region_code, f.minute, ALL_SOURCES.index(f.source)))
    parsed.facts = facts


def _facts_of(
    code: str,
    minute: int,
    nature: str,
    values: Mapping[str, float | str | None],
    factors: Mapping[str, float | str | None],
    present: set[str],
) -> list[Fact]:
    out = []
    for source, value in values.items():
        if value == _NA or source not in present:
            continue
        factor = factors.get(source)
        out.append(
            Fact(
                code,
                minute,
                source,
                value if isinstance(value, float) else None,
                factor if isinstance(factor, float) else None,
                nature,
            )
        )
    return out


def half_hour_start(minute: int) -> datetime:
    """The UTC instant of an epoch-minute id (for reports)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
