"""Bad Gold rows are quarantined, not fatal: the region-days they touch are set aside and reported.

A row whose source name the domain does not know, or a region code it does not know, cannot be
aggregated. Instead of failing the whole run (and so every run after it, as the watermark would never
move), the region-days such rows touch are not materialized: they are listed in one quarantine record
(a document an operator reads through the API), retried by every incremental run, and dropped from the
record once they materialize (after a code or data fix).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from domain.sources import ALL_SOURCES

if TYPE_CHECKING:  # the quarantine API reads the record only: numpy is the materialization's
    from domain.gold_columns import GoldColumns

QUARANTINE_DOC_ID = "quarantine"
_KNOWN_SOURCES_LIST = list(ALL_SOURCES)


class QuarantinedDay(TypedDict):
    """One region-day left unmaterialized, and why."""

    region_code: str
    date: str
    unknown_region: bool
    unknown_sources: list[str]


def split_unknown_sources(columns: GoldColumns) -> tuple[GoldColumns, dict[str, list[str]]]:
    """(facts of the days without an unknown source, {day: sorted unknown source names}) by `date_locale`."""
    import numpy as np

    bad = ~np.isin(columns.source_name, _KNOWN_SOURCES_LIST)
    if not bad.any():
        return columns, {}
    unknown: dict[str, set[str]] = {}
    for day, name in zip(columns.date_locale[bad], columns.source_name[bad], strict=True):
        unknown.setdefault(str(day), set()).add(str(name))
    kept = columns.take(~np.isin(columns.date_locale, list(unknown)))
    return kept, {day: sorted(names) for day, names in sorted(unknown.items())}


def _entry_key(entry: dict[str, Any]) -> tuple[str, str]:
    return str(entry["region_code"]), str(entry["date"])


def updated_record(
    existing: dict[str, Any] | None,
    attempted: Iterable[tuple[str, str]],
    quarantined: Iterable[QuarantinedDay],
    *,
    system_partition: str,
    now: str,
    instance_id: str | None,
) -> dict[str, Any]:
    """The quarantine record after a run: days it attempted leave it unless quarantined again.

    `first_seen` survives from the existing entry, so an operator sees how long a day has been stuck.
    """
    entries = {_entry_key(e): e for e in (existing or {}).get("days", []) if isinstance(e, dict)}
    for key in attempted:
        entries.pop(key, None)
    previous = {_entry_key(e): e for e in (existing or {}).get("days", []) if isinstance(e, dict)}
    for day in quarantined:
        key = (day["region_code"], day["date"])
        entries[key] = {
            **day,
            "first_seen": previous.get(key, {}).get("first_seen", now),
            "last_seen": now,
            "instance_id": instance_id,
        }
    days = [entries[k] for k in sorted(entries)]
    return {
        "id": QUARANTINE_DOC_ID,
        "region_code": system_partition,
        "doc_type": "quarantine",
        "key": QUARANTINE_DOC_ID,
        "updated_at": now,
        "count": len(days),
        "unknown_regions": sorted({d["region_code"] for d in days if d.get("unknown_region")}),
        "unknown_sources": sorted({s for d in days for s in d.get("unknown_sources", [])}),
        "days": days,
    }


def quarantined_partitions(record: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(region_code, day) of every day in the record: the incremental run tries them again."""
    return [_entry_key(e) for e in (record or {}).get("days", []) if isinstance(e, dict)]


def summary(quarantined: Sequence[QuarantinedDay]) -> dict[str, Any]:
    """The orchestration output's account of this run's quarantined days, grouped by region-month."""
    months: dict[tuple[str, str], list[str]] = {}
    for day in quarantined:
        months.setdefault((day["region_code"], day["date"][:7]), []).append(day["date"])
    return {
        "days": len(quarantined),
        "unknown_regions": sorted({d["region_code"] for d in quarantined if d["unknown_region"]}),
        "unknown_sources": sorted({s for d in quarantined for s in d["unknown_sources"]}),
        "partitions": [
            {"region_code": region, "month": month, "days": sorted(days)}
            for (region, month), days in sorted(months.items())
        ],
    }
