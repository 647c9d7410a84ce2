"""`intensity-now`: the latest materialized interval of every region and of FR, in one small document of the
system partition, rewritten at every commit so that GET /v1/intensity/now is one point read.

The latest interval of an area is the last half-hour with a carbon intensity in its newest materialized day
(the catalog's `last_day`), or the day before when that day has none yet: trailing half-hours without data
(the upstream has not published them) are not "now". A client computes staleness from `timestamp` (the
interval's local start); `materialized_at` is the commit that wrote the document, `source_loaded_at` per area
when Gold loaded that day's rows.
Mix shares are each production source's share of the production (negative production counted as 0), in %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final

from domain.naming import CATALOG_DOC_ID, WATERMARK_DOC_ID, day_doc_id
from domain.ports import SYSTEM_PARTITION, Document, DocumentStore
from domain.regions import AREAS
from domain.sources import METHODOLOGY_VERSION, PRODUCTION_SOURCES

INTENSITY_NOW_DOC_ID: Final[str] = "intensity-now"
_LOOK_BACK_DAYS: Final[int] = 1


def _share(value: float | None, total: float) -> float | None:
    if value is None or total <= 0:
        return None
    return round(max(value, 0.0) / total * 100, 2) + 0.0


def latest_interval(day_docs: Sequence[Document]) -> tuple[Document, dict[str, Any]] | None:
    """(day document, interval) of the newest half-hour with a carbon intensity, days newest first."""
    for doc in sorted(day_docs, key=lambda d: d["date"], reverse=True):
        for interval in reversed(doc.get("intervals") or []):
            if interval.get("carbon_intensity_g_per_kwh") is not None:
                return doc, interval
    return None


def area_item(doc: Document, interval: Mapping[str, Any]) -> dict[str, Any]:
    sources = interval.get("sources") or {}
    positive = sum(max(v, 0.0) for s in PRODUCTION_SOURCES if (v := sources.get(s)) is not None)
    item = {
        "region_code": doc["region_code"],
        "region_name": doc["region_name"],
        "timestamp": interval["timestamp"],
        "date": doc["date"],
        "carbon_intensity_g_per_kwh": interval.get("carbon_intensity_g_per_kwh"),
        "production_mw": interval.get("production_mw"),
        "consumption_mw": interval.get("consumption_mw"),
        "mix_pct": {s: _share(sources.get(s), positive) for s in PRODUCTION_SOURCES},
        "nature": doc.get("nature"),
        "final": bool(doc.get("final")),
        "source_loaded_at": doc.get("source_loaded_at"),
    }
    if "complete" in interval:  # FR
        item["complete"] = interval["complete"]
        item["regions_missing"] = interval.get("regions_missing", [])
    return item


def intensity_now_document(
    latest: Mapping[str, tuple[Document, Mapping[str, Any]] | None],
    materialized_at: str,
    watermark: str | None,
) -> Document:
    """The document from each area's latest (day document, interval), None for an area with none; areas in
    INSEE order then FR. `materialized_at`: the commit that wrote it (UTC ISO)."""
    items = [area_item(*found) for area in AREAS if (found := latest.get(area.code)) is not None]
    return {
        "id": INTENSITY_NOW_DOC_ID,
        "region_code": SYSTEM_PARTITION,
        "doc_type": "intensity-now",
        "key": INTENSITY_NOW_DOC_ID,
        "materialized_at": materialized_at,
        "watermark": watermark,
        "interval_minutes": 30,
        "units": {"carbon_intensity": "gCO2eq/kWh", "power": "MW", "mix": "% of production"},
        "methodology_version": METHODOLOGY_VERSION,
        "items": items,
        "missing": [a.code for a in AREAS if latest.get(a.code) is None],
    }


def write_intensity_now(documents: DocumentStore, materialized_at: str) -> Document:
    """Rebuild and write the document from the catalog's newest day of each area (two point reads an area
    at most, plus the catalog and the watermark). Called at every commit, after the catalog is written."""
    catalog = documents.get(SYSTEM_PARTITION, CATALOG_DOC_ID) or {}
    last_days = {r.get("code"): r.get("last_day") for r in catalog.get("regions", []) if isinstance(r, dict)}
    latest: dict[str, tuple[Document, Mapping[str, Any]] | None] = {}
    for area in AREAS:
        last = last_days.get(area.code)
        found = None
        if isinstance(last, str):
            newest = date.fromisoformat(last)
            for back in range(_LOOK_BACK_DAYS + 1):
                doc = documents.get(area.code, day_doc_id(area.code, (newest - timedelta(days=back)).isoformat()))
                found = latest_interval([doc]) if doc is not None else None
                if found is not None:
                    break
        latest[area.code] = found
    marker = documents.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)
    doc = intensity_now_document(latest, materialized_at, marker.get("value") if marker else None)
    documents.upsert(doc)
    return doc
