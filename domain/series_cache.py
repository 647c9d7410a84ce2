"""Compact month series of an area (region or FR): the forecast variables of its day documents as plain columns,
so that the forecast step reads 12 small documents per area instead of a year of day documents.

Written by the national step (domain.national_materialization), which holds the 12 regions' days of the month
and FR's anyway; `series:{YYYY-MM}` in the area's partition. Each lists the content hash of every day it was
built from: a reader trusts a month only while those are exactly the hashes the store holds for the month's
days in its window (a hashes-only query), and reads the day documents of any other month. A stale or missing
cache therefore costs time, never a wrong forecast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from domain.forecast import SLOT_MINUTES, epoch_minute
from domain.hashing import with_content_hash
from domain.ports import Document, DocumentStore
from domain.sources import PRODUCTION_SOURCES

SERIES_DOC_TYPE: Final[str] = "series"
CARBON: Final[str] = "carbon_intensity_g_per_kwh"
VARIABLES: Final[tuple[str, ...]] = (CARBON, "consumption_mw", *(f"sources.{s}" for s in PRODUCTION_SOURCES))


def series_doc_id(month: str) -> str:
    return f"{SERIES_DOC_TYPE}:{month}"


def _value(interval: Mapping[str, Any], variable: str) -> Any:
    group, _, name = variable.partition(".")
    return (interval.get(group) or {}).get(name) if name else interval.get(group)


def month_series_document(region_code: str, month: str, day_docs: Sequence[Document]) -> Document:
    """The compact series of one area-month from its day documents (the values as the documents hold them)."""
    return with_content_hash(_series_body(region_code, month, day_docs), numbers_canonical=True)


def _series_body(region_code: str, month: str, day_docs: Sequence[Document]) -> Document:
    ordered = sorted(day_docs, key=lambda d: d["date"])
    intervals = [i for d in ordered for i in d.get("intervals", [])]
    return {
        "id": series_doc_id(month),
        "region_code": region_code,
        "doc_type": SERIES_DOC_TYPE,
        "key": month,
        "days": [
            {
                "date": d["date"],
                "content_hash": d.get("content_hash"),
                "start_minute": epoch_minute(d["intervals"][0]["timestamp"]) if d.get("intervals") else None,
                "count": len(d.get("intervals", [])),
            }
            for d in ordered
        ],
        "columns": {v: [_value(i, v) for i in intervals] for v in VARIABLES},
    }


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive half-hours of one day: the first one's UTC epoch minute and each variable's values."""

    date: str
    start_minute: int
    values: dict[str, np.ndarray]


def blocks_of_series(doc: Document, first_day: str, last_day: str) -> list[Block]:
    blocks, offset = [], 0
    columns = {v: np.array(doc["columns"].get(v, []), dtype=np.float64) for v in VARIABLES}
    for day in doc["days"]:
        count = int(day["count"])
        if first_day <= day["date"] <= last_day and count and day["start_minute"] is not None:
            values = {v: c[offset : offset + count] for v, c in columns.items()}
            blocks.append(Block(day["date"], int(day["start_minute"]), values))
        offset += count
    return blocks


def blocks_of_days(day_docs: Sequence[Document]) -> list[Block]:
    return blocks_of_series(_series_body("", "", day_docs), "0000-00-00", "9999-99-99")


def read_blocks(documents: DocumentStore, region_code: str, first_day: str, last_day: str) -> tuple[list[Block], int]:
    """The area's days in [first_day, last_day] as blocks, from the month series where their day hashes are
    the stored ones, else from the day documents; also how many months were read from day documents."""
    stored: dict[str, dict[str, str]] = {}
    for doc_id, content_hash in documents.range_hashes(region_code, "day", first_day, last_day):
        day = doc_id.rsplit(":", 1)[-1]
        stored.setdefault(day[:7], {})[day] = content_hash
    cached = {d["key"]: d for d in documents.query_range(region_code, SERIES_DOC_TYPE, first_day[:7], last_day[:7])}
    blocks: list[Block] = []
    missed = 0
    for month in sorted(stored):
        doc = cached.get(month)
        listed = (
            {d["date"]: d["content_hash"] for d in doc["days"] if first_day <= d["date"] <= last_day} if doc else None
        )
        if listed == stored[month] and doc is not None:
            blocks += blocks_of_series(doc, first_day, last_day)
        else:
            missed += 1
            days = documents.query_range(
                region_code, "day", max(first_day, f"{month}-01"), min(last_day, f"{month}-31")
            )
            blocks += blocks_of_days(days)
    return blocks, missed


def grid_columns(blocks: Sequence[Block]) -> tuple[int, dict[str, np.ndarray]]:
    """(first UTC epoch minute, each variable on the contiguous half-hour grid, NaN where no block has it)."""
    if not blocks:
        return 0, {}
    start = min(b.start_minute for b in blocks)
    end = max(b.start_minute + SLOT_MINUTES * len(next(iter(b.values.values()))) for b in blocks)
    length = (end - start) // SLOT_MINUTES
    out = {v: np.full(length, np.nan) for v in VARIABLES}
    for block in blocks:
        at = (block.start_minute - start) // SLOT_MINUTES
        for v, values in block.values.items():
            out[v][at : at + len(values)] = values
    return start, out
