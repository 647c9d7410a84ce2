"""Revision history: the materialized versions of one region-day, or of one region-month's rollup, per record.

Why one record per day (and one for the month) and capped: a region-month's whole history in one document
grew by ~1 kB at every changing run and, with 15-minute intraday loads, passed Cosmos DB's 2 MB item limit in
about three weeks (then every write failed with 413). A record here keeps the first version and the last
`MAX_KEPT_VERSIONS`; the versions between are dropped and counted (`versions_total`, `versions_dropped`), each
kept version carries its `number` (1 for the first ever), so a reader sees where the gap is. A version's
`changes` are computed when read against the previous KEPT version: after a gap, the first kept version's
changes are from version 1, not from the dropped version just before it.

Each version keeps the totals a reader compares across versions (energy in MWh, emissions in tCO2eq); the
differences stay null where either side is missing.

What was already announced in the changes feed is not read from these records but from a small per-region-month
index (`announced_doc_id`: the latest announced content hash of each day and of the month, at most 32 entries):
one point read tells a batch of up to 31 days what is new, where per-day records would cost one read per day.
The index is written last, after the feed page and the histories (domain.change_feed.record_changes).

Before these records, a region-month's history was one record with every version of every day under
`documents`, stored under the id the month record has now (`revisions_doc_id(region, month)`); `from_legacy`
splits it, and the first batch that meets one migrates it (change_feed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from domain.ports import Document

DOC_TYPE = "revisions"
ANNOUNCED_DOC_TYPE = "announced"
# First version + the last MAX_KEPT_VERSIONS: ~51 versions of ~0.6 kB, far below Cosmos DB's 2 MB item.
MAX_KEPT_VERSIONS: Final[int] = 50
# Upper bounds of the stored JSON, checked against built worst cases (tests/unit/domain/test_document_bounds.py).
MAX_VERSION_BYTES: Final[int] = 1_024
MAX_HISTORY_BYTES: Final[int] = 1_024 + (MAX_KEPT_VERSIONS + 1) * MAX_VERSION_BYTES  # envelope + versions: 53 kB
MAX_ANNOUNCED_BYTES: Final[int] = 8_192  # 32 keys (31 days + the month) × (key + 64-hex hash)
# The totals kept per version (a day's `totals`, or a month's top-level fields).
_SCALARS = ("production_mwh", "consumption_mwh", "emissions_tco2eq")


def revisions_doc_id(region_code: str, key: str) -> str:
    """The history of one day (`key` YYYY-MM-DD) or of one month's rollup (`key` YYYY-MM)."""
    return f"{region_code}:{key}:revisions"


def announced_doc_id(region_code: str, month: str) -> str:
    return f"{region_code}:{month}:announced"


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


# -- what was announced ------------------------------------------------------------------------------------


def announced_hashes(index: Document | None) -> dict[str, str]:
    return dict((index or {}).get("hashes") or {})


def unrecorded(announced: dict[str, str], stored: Sequence[Document]) -> list[Document]:
    """The stored documents whose content is not the latest one announced."""
    return [doc for doc in stored if announced.get(doc["key"]) != doc["content_hash"]]


def with_announced(current: Document | None, region_code: str, month: str, docs: Sequence[Document]) -> Document | None:
    """The index with `docs`' hashes as the latest announced, one generation on; None when it already says so.

    The generation counts the index's writes: it tells a retried batch (same generation) from a later one that
    announces the same contents again (a change back), see domain.change_feed.batch_key."""
    hashes = announced_hashes(current)
    new = {doc["key"]: doc["content_hash"] for doc in docs}
    if all(hashes.get(k) == h for k, h in new.items()):
        return None
    return {
        "id": announced_doc_id(region_code, month),
        "region_code": region_code,
        "doc_type": ANNOUNCED_DOC_TYPE,
        "key": month,
        "generation": int((current or {}).get("generation", 0)) + 1,
        "hashes": {**hashes, **new},
    }


# -- the capped history of one key ---------------------------------------------------------------------------


def is_legacy(record: Document | None) -> bool:
    """A whole region-month's history in one record (the shape before per-day records)."""
    return record is not None and "documents" in record


def _capped(region_code: str, key: str, versions: list[dict[str, Any]], total: int, keep: int) -> Document:
    """The record keeping versions[0] and the last `keep` of `versions` (each already numbered)."""
    kept = versions if len(versions) <= keep + 1 else [versions[0], *versions[-keep:]]
    return {
        "id": revisions_doc_id(region_code, key),
        "region_code": region_code,
        "doc_type": DOC_TYPE,
        "key": key,
        "kind": "day" if len(key) == 10 else "month",
        "versions_total": total,
        "versions_dropped": total - len(kept),
        "versions": kept,
    }


def from_legacy(legacy: Document, region_code: str, key: str, keep: int = MAX_KEPT_VERSIONS) -> Document | None:
    """One key's record cut out of a legacy region-month record; None when it has no version of `key`."""
    versions = ((legacy.get("documents") or {}).get(key)) or []
    if not versions:
        return None
    numbered = [{**v, "number": i} for i, v in enumerate(versions, 1)]
    return _capped(region_code, key, numbered, len(numbered), keep)


def with_version(
    current: Document | None, region_code: str, doc: Document, materialized_at: str, page: int, keep: int
) -> Document | None:
    """The history of `doc`'s key with `doc` appended and capped; None when `doc` is already its latest."""
    if is_legacy(current):  # the month's record id is the legacy record's: take the month's versions from it
        assert current is not None
        current = from_legacy(current, region_code, doc["key"], keep)
    versions = list((current or {}).get("versions") or [])
    if versions and versions[-1]["content_hash"] == doc["content_hash"]:
        return None  # a retry, or a concurrent batch recorded it first
    total = int((current or {}).get("versions_total") or len(versions)) + 1
    versions.append({**version_of(doc, materialized_at, page), "number": total})
    return _capped(region_code, doc["key"], versions, total, keep)


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


def history(record: Document | None) -> list[dict[str, Any]]:
    """The kept versions of one day (or month), oldest first, each with its changes from the kept one before
    (across a gap of dropped versions: from version 1)."""
    versions = (record or {}).get("versions") or []
    items = []
    previous: dict[str, Any] | None = None
    for number, version in enumerate(versions, 1):
        totals = version.get("totals") or {}
        items.append({"number": number, **version, "changes": _changes(totals, previous)})
        previous = totals
    return items
