"""The API's items of the materialized documents (one per interval of a day, one per day of a month), and their
pre-serialized form, which the stores keep beside each document (rendered when it is written, so a cold range
page is joined from stored bytes: no parse, no per-item rendering).

A range answers all sources (source_type absent) or one: the stored form is the all-sources one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from domain.ports import Document, StoredItems
from domain.sources import CONSUMPTION, PRODUCTION_SOURCES

# The document field that holds each granularity's elements, by document type.
ITEM_FIELDS = {"day": ("intervals", "hourly"), "month": ("days",)}


def _only(values: dict[str, float | None], source_type: str | None, fallback: float | None = None) -> dict[str, Any]:
    """All sources, or just `source_type` (null when the region has no such value: missing, not zero)."""
    if source_type is None:
        return values
    return {source_type: values.get(source_type, fallback)}


def _load_factors(values: dict[str, float | None], source_type: str | None) -> dict[str, Any]:
    if source_type is None:
        return values
    return {source_type: values.get(source_type)} if source_type in PRODUCTION_SOURCES else {}


def interval_item(doc: Document, interval: dict[str, Any], source_type: str | None) -> dict[str, Any]:
    consumption = interval.get("consumption_mw")
    item = {
        "region": doc["region_code"],
        "region_name": doc["region_name"],
        "timestamp": interval["timestamp"],
        "production_mw": interval.get("production_mw"),
        "consumption_mw": consumption,
        "sources": _only(
            interval.get("sources") or {}, source_type, consumption if source_type == CONSUMPTION else None
        ),
        "facteur_charge": _load_factors(interval.get("facteur_charge") or {}, source_type),
        "carbon_intensity_g_per_kwh": interval.get("carbon_intensity_g_per_kwh"),
    }
    if "complete" in interval:  # FR (domain.national_materialization): whether every region was there
        item["complete"] = interval["complete"]
        item["regions_missing"] = interval.get("regions_missing", [])
    return item


def day_item(doc: Document, day: dict[str, Any], source_type: str | None) -> dict[str, Any]:
    """One DaySummary of a month document: mean MW = energy (MWh) / the day's hours (23, 24 or 25)."""
    totals = day["totals"]
    hours = day["interval_count"] * 0.5
    energy: dict[str, float | None] = totals.get("energy_mwh") or {}
    mean_mw = {s: (None if e is None or hours == 0 else e / hours) for s, e in energy.items()}
    consumption = totals.get("consumption_mw_avg")
    consumption_mwh = totals.get("consumption_mwh")
    return {
        "region": doc["region_code"],
        "region_name": doc["region_name"],
        "timestamp": day["timestamp"],
        "date": day["date"],
        "interval_count": day["interval_count"],
        "final": day["final"],
        "production_mw": totals.get("production_mw_avg"),
        "consumption_mw": consumption,
        "sources": _only(mean_mw, source_type, consumption if source_type == CONSUMPTION else None),
        "facteur_charge": _load_factors(totals.get("facteur_charge_avg") or {}, source_type),
        "carbon_intensity_g_per_kwh": totals.get("carbon_intensity_g_per_kwh"),
        "energy_mwh": _only(energy, source_type, consumption_mwh if source_type == CONSUMPTION else None),
        "production_mwh": totals.get("production_mwh"),
        "consumption_mwh": consumption_mwh,
        "production_mw_peak": totals.get("production_mw_peak"),
        "consumption_mw_peak": totals.get("consumption_mw_peak"),
        "emissions_tco2eq": totals.get("emissions_tco2eq"),
    }


def serialized(items: Sequence[Any]) -> tuple[bytes, list[int]]:
    """The items' JSON texts joined by "," and the byte offset of each (what a page joins and slices)."""
    texts = [orjson.dumps(item) for item in items]
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + 1
    return b",".join(texts), starts


def rendered_items(doc: Document, field: str, source_type: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The items of a document's `field` as a range shows them, and their dates (month documents: every day, in
    date order, each with its date; day documents: no dates)."""
    if field == "days":
        days = sorted(doc.get("days", []), key=lambda d: str(d["date"]))
        return [day_item(doc, d, source_type) for d in days], [d["date"] for d in days]
    return [interval_item(doc, iv, source_type) for iv in doc.get(field, [])], []


def stored_items(doc: Document) -> dict[str, StoredItems]:
    """The all-sources items of each granularity a document serves, pre-serialized; none for other documents or
    a document without a content hash (nothing to tell a stale copy by)."""
    content_hash = doc.get("content_hash")
    fields = ITEM_FIELDS.get(str(doc.get("doc_type")), ())
    if not isinstance(content_hash, str) or not fields:
        return {}
    out: dict[str, StoredItems] = {}
    for field in fields:
        try:
            items, dates = rendered_items(doc, field)
        except (KeyError, TypeError, AttributeError):  # not the materialization's shape: none stored, a read renders
            return {}
        blob, starts = serialized(items)
        out[field] = StoredItems(content_hash, blob, tuple(starts), tuple(dates))
    return out
