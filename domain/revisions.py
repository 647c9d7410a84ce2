"""Revision history: every materialized version of a region's days and month, one record per region-month.

One record per region-month (not per day) so that a batch, which covers one region-month, updates its history
with one compare-and-swap. Each version keeps the totals a reader compares across versions (energy in MWh,
emissions in tCO2eq); the differences are computed when read, and stay null where either side is missing.

The record also says what was already announced in the changes feed: a document whose stored content hash is
not the latest version recorded (a crash between its write and its feed page) is announced again by the next
batch that covers it, so a change is never lost (at worst announced twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.ports import Document

DOC_TYPE = "revisions"
# The totals kept per version (a day's `totals`, or a month's top-level fields).
_SCALARS = ("production_mwh", "consumption_mwh", "emissions_tco2eq")


def revisions_doc_id(region_code: str, month: str) -> str:
    return f"{region_code}:{month}:revisions"


def _totals(doc: Document) -> dict[str, Any]:
    source = doc.get("totals") if doc.get("doc_type") == "day" else doc
    source = source or {}
    totals: dict[str, Any] = {name: source.get(name) for name in _SCALARS}
    totals["energy_mwh"] = dict(source.get("energy_mwh") or {})
    if doc.get("doc_type") == "day":
        totals["intervals_with_data"] = doc.get("intervals_with_data")
    return totals


def version_of(doc: Document, materialized_at: str, page: int) -> dict[str, Any]:
    return {
        "content_hash": doc["content_hash"],
        "nature": doc.get("nature"),
        "final": bool(doc.get("final")),
        "loaded_at": doc.get("source_loaded_at"),
        "materialized_at": materialized_at,
        "feed_page": page,
        "totals": _totals(doc),
    }


def _latest_hash(record: Document | None, key: str) -> str | None:
    versions = ((record or {}).get("documents") or {}).get(key) or []
    return str(versions[-1]["content_hash"]) if versions else None


def unrecorded(record: Document | None, stored: Sequence[Document]) -> list[Document]:
    """The stored documents whose content is not the latest version in the history."""
    return [doc for doc in stored if _latest_hash(record, doc["key"]) != doc["content_hash"]]


def with_versions(
    current: Document | None, region_code: str, month: str, docs: Sequence[Document], materialized_at: str, page: int
) -> Document | None:
    """The history with a version appended for each of `docs` not already its latest; None when none is new
    (a concurrent batch recorded them first)."""
    new = unrecorded(current, docs)
    if not new:
        return None
    documents = {key: list(versions) for key, versions in ((current or {}).get("documents") or {}).items()}
    for doc in new:
        documents.setdefault(doc["key"], []).append(version_of(doc, materialized_at, page))
    return {
        "id": revisions_doc_id(region_code, month),
        "region_code": region_code,
        "doc_type": DOC_TYPE,
        "key": month,
        "documents": documents,
    }


def _difference(new: Any, old: Any) -> float | None:
    if new is None or old is None:
        return None  # missing stays missing: no difference with a value that is not there
    return round(float(new) - float(old), 6)


def _changes(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any] | None:
    if old is None:
        return None
    changes: dict[str, Any] = {name: _difference(new.get(name), old.get(name)) for name in _SCALARS}
    if "intervals_with_data" in new:
        a, b = new.get("intervals_with_data"), old.get("intervals_with_data")
        changes["intervals_with_data"] = None if a is None or b is None else int(a) - int(b)
    sources = sorted(set(new.get("energy_mwh") or {}) | set(old.get("energy_mwh") or {}))
    changes["energy_mwh"] = {
        s: _difference((new.get("energy_mwh") or {}).get(s), (old.get("energy_mwh") or {}).get(s)) for s in sources
    }
    return changes


def history(record: Document | None, key: str) -> list[dict[str, Any]]:
    """Every recorded version of one day (or month), oldest first, each with its changes from the one before."""
    versions = ((record or {}).get("documents") or {}).get(key) or []
    items = []
    previous: dict[str, Any] | None = None
    for version in versions:
        totals = version.get("totals") or {}
        items.append({**version, "changes": _changes(totals, previous)})
        previous = totals
    return items
