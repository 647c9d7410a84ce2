"""Quarantine: a region-month that cannot be materialized is set aside, recorded and retried later, never fatal.

Two causes. Rows the domain cannot aggregate (a source name or a region code it does not know) set aside the
region-days they touch; a batch that fails for any other reason (a value stored as text in Gold, a bug, a
store down after the activity's retries) sets aside the days of its region-month. Either way the run goes
on: the other region-months materialize and the watermark advances past the set-aside ones.

One record per region-month (`quarantine:{region}:{month}` in the system partition, doc_type `quarantine`,
key `{region}:{month}`): at most one entry per day of the month (≤ 31), at most MAX_SOURCE_NAMES unknown names
of MAX_NAME_CHARS per day and an error text of at most MAX_ERROR_CHARS, so a record stays under 20 KiB. A
record whose days all materialized again keeps existing with no days (the document port has no delete): it
is "cleared" and readers skip it.

Retries: the n-th consecutive failing run of a region-month retries it at the next run while n < the policy's
`set_aside_after` (a soft failure); from then on it is set aside and retried only when its back-off expires
(base · 2^(n−1), capped) or when Gold changes for one of its days (a partition loaded after the record's
`loaded_at` reappears in the incremental plan).

Migration: the single record of before (`quarantine`) is read by the incremental plan, its days retried once
(their outcome lands in per-month records) and the commit of that run leaves it empty (`migrated_at`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from domain.sources import ALL_SOURCES

if TYPE_CHECKING:  # the quarantine API reads the record only: numpy is the materialization's
    from domain.gold_columns import GoldColumns

QUARANTINE_DOC_TYPE = "quarantine"
LEGACY_QUARANTINE_DOC_ID = "quarantine"  # the one record of every quarantined day, before per-month records
MAX_DAY_ENTRIES = 31
MAX_SOURCE_NAMES = 10
MAX_NAME_CHARS = 40
MAX_ERROR_CHARS = 500
MAX_RECORD_BYTES = 20 * 1024  # what those caps keep a record under (tests/unit/domain/test_quarantine.py)
# Every key of the system partition's quarantine records lies in this range (region codes are ASCII).
KEY_FIRST, KEY_LAST = "", "\uffff"
_KNOWN_SOURCES_LIST = list(ALL_SOURCES)


class QuarantinedDay(TypedDict):
    """One region-day left unmaterialized, and why."""

    region_code: str
    date: str
    unknown_region: bool
    unknown_sources: list[str]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failing region-month is tried again (Settings: MATERIALIZE_RETRY_*)."""

    base_seconds: int = 900
    max_seconds: int = 86_400
    set_aside_after: int = 3

    def delay_seconds(self, failures: int) -> int:
        """Wait after the `failures`-th consecutive failing run: none while soft, then exponential, capped."""
        if failures < self.set_aside_after:
            return 0
        return min(self.max_seconds, self.base_seconds * 2 ** min(failures - 1, 40))

    def set_aside(self, failures: int) -> bool:
        return failures >= self.set_aside_after


def record_key(region: str, month: str) -> str:
    return f"{region}:{month}"


def record_id(region: str, month: str) -> str:
    return f"quarantine:{region}:{month}"


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


def short_error(text: str) -> str:
    """An error text fit for the record: whitespace collapsed, at most MAX_ERROR_CHARS."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"


_ERROR_TYPE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*(?:Error|Exception|Unavailable|Timeout|Exit|Interrupt))\b")


def error_type(text: str | None) -> str | None:
    """The exception class named in a failure text ("… failed: ValueError: …" → "ValueError"), else "Error".

    What public readers (health) are shown: messages can carry values, endpoints or connection strings."""
    if not text:
        return None
    found = _ERROR_TYPE.search(text)
    return found.group(1) if found else "Error"


def failed_batch_result(batch: Mapping[str, Any], error: str) -> dict[str, Any]:
    """The result of a batch whose activity failed (after its retries): nothing written, every day set aside.

    Built by the orchestrator (deterministic, no I/O); the same keys as materialization.BatchResult."""
    days = sorted(batch["days"])
    return {
        "region_code": batch["region_code"],
        "month": batch["month"],
        "days": 0,
        "days_written": 0,
        "days_unchanged": 0,
        "files_written": 0,
        "first_day": None,
        "last_day": None,
        "attempted_days": days,
        "quarantined": [],
        "loaded_at": str(batch.get("loaded_at") or ""),
        "error": short_error(error),
    }


def _parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))


def is_active(record: dict[str, Any] | None) -> bool:
    """A region-month record with days set aside. The single record of before shares the doc_type (and the
    range of keys): it is no region-month record."""
    return bool(record and record.get("days") and "region" in record and "month" in record)


def is_due(record: dict[str, Any], now: str) -> bool:
    """The record's back-off has expired at `now` (UTC ISO)."""
    next_retry = record.get("next_retry_at")
    return not next_retry or _parse(str(next_retry)) <= _parse(now)


def _day_entry(
    date: str, *, unknown_region: bool, unknown_sources: Sequence[str], failed: bool, previous: dict[str, Any] | None,
    now: str, instance_id: str | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "date": date,
        "unknown_region": unknown_region,
        "unknown_sources": sorted({name[:MAX_NAME_CHARS] for name in unknown_sources})[:MAX_SOURCE_NAMES],
        "failed": failed,
        "first_seen": (previous or {}).get("first_seen", now),
        "last_seen": now,
        "instance_id": instance_id,
    }


def updated_month_record(
    existing: dict[str, Any] | None,
    *,
    region: str,
    month: str,
    attempted: Iterable[str],
    quarantined: Iterable[QuarantinedDay],
    error: str | None,
    loaded_at: str,
    now: str,
    retry_from: str,
    instance_id: str | None,
    policy: RetryPolicy,
    system_partition: str,
) -> dict[str, Any]:
    """A region-month's record after a run attempted (some of) its days.

    `quarantined`: days set aside for unknown names; `error`: the batch failed (every attempted day set
    aside). A run that sets a day aside is a failing run: `failures` counts them in a row and schedules the
    next retry from `retry_from` (the run's plan time); a run that leaves no day set aside clears the record;
    a run that attempted only some days, all fine, leaves the others and the count as they were.
    """
    old = existing or {}
    previous = {str(e["date"]): e for e in old.get("days", []) if isinstance(e, dict) and "date" in e}
    attempted_days = set(attempted)
    entries = {d: e for d, e in previous.items() if d not in attempted_days}
    new: dict[str, dict[str, Any]] = {}
    if error is not None:
        for day in sorted(attempted_days):
            new[day] = _day_entry(day, unknown_region=False, unknown_sources=[], failed=True,
                                  previous=previous.get(day), now=now, instance_id=instance_id)  # fmt: skip
    for q in quarantined:
        new[q["date"]] = _day_entry(q["date"], unknown_region=q["unknown_region"], unknown_sources=q["unknown_sources"],
                                    failed=False, previous=previous.get(q["date"]), now=now,
                                    instance_id=instance_id)  # fmt: skip
    entries.update(new)
    days = [entries[d] for d in sorted(entries) if d.startswith(month)][:MAX_DAY_ENTRIES]
    failures = int(old.get("failures", 0))
    next_retry_at, last_error = old.get("next_retry_at"), old.get("error")
    if new:
        failures += 1
        next_retry_at = (_parse(retry_from) + timedelta(seconds=policy.delay_seconds(failures))).isoformat()
        last_error = short_error(error) if error is not None else None
    elif not days:
        failures, next_retry_at, last_error = 0, None, None
    return {
        "id": record_id(region, month),
        "region_code": system_partition,
        "doc_type": QUARANTINE_DOC_TYPE,
        "key": record_key(region, month),
        "region": region,
        "month": month,
        "days": days,
        "failures": failures,
        "set_aside": bool(days) and policy.set_aside(failures),
        "next_retry_at": next_retry_at,
        "error": last_error,
        "error_type": error_type(last_error),
        "loaded_at": max(str(old.get("loaded_at") or ""), loaded_at) if days else loaded_at,
        "first_seen": old.get("first_seen") if old.get("days") else (now if days else None),
        "updated_at": now,
        "instance_id": instance_id,
    }


def record_days(record: dict[str, Any]) -> list[str]:
    return [str(e["date"]) for e in record.get("days", []) if isinstance(e, dict) and "date" in e]


def legacy_days(record: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(region_code, day) of every day in the single record of before (to retry them once)."""
    return [
        (str(e["region_code"]), str(e["date"]))
        for e in (record or {}).get("days", [])
        if isinstance(e, dict) and "region_code" in e and "date" in e
    ]


def summary(quarantined: Sequence[QuarantinedDay], failed: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The orchestration output's account of this run's set-aside days, grouped by region-month.

    `failed`: results of batches that failed (`error`); their days are in `partitions` too."""
    months: dict[tuple[str, str], set[str]] = {}
    for day in quarantined:
        months.setdefault((day["region_code"], day["date"][:7]), set()).add(day["date"])
    for res in failed:
        months.setdefault((res["region_code"], res["month"]), set()).update(res["attempted_days"])
    return {
        "days": sum(len(days) for days in months.values()),
        "unknown_regions": sorted({d["region_code"] for d in quarantined if d["unknown_region"]}),
        "unknown_sources": sorted({s for d in quarantined for s in d["unknown_sources"]}),
        "partitions": [
            {"region_code": region, "month": month, "days": sorted(days)}
            for (region, month), days in sorted(months.items())
        ],
        "failed": [
            {"region_code": r["region_code"], "month": r["month"], "error": r["error"]}
            for r in sorted(failed, key=lambda r: (r["region_code"], r["month"]))
        ],
    }
