"""The materialization steps, as plain functions over the ports (the activities only wire them).

Write order makes every step safe to crash and to repeat: the CSV file is written before its document,
and the document (with its content hash) is the commit marker. A crash between the two leaves the old
document, so the next run sees a hash mismatch and writes both again; an unchanged day is skipped.
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired, Protocol, TypedDict, runtime_checkable

from domain.aggregate import HalfHours, build_days, build_month_document
from domain.change_feed import record_changes
from domain.conditional_write import CSV_CONTENT_TYPE, CsvFile, WriteOutcome, write_versioned
from domain.csv_export import render_day_csv, render_day_csvs, render_month_csv
from domain.naming import (
    CATALOG_DOC_ID,
    WATERMARK_DOC_ID,
    day_file_name,
    month_doc_id,
    month_file_name,
)
from domain.planning import Batch, group_partitions
from domain.ports import SYSTEM_PARTITION, Document, DocumentStore, FileStore, GoldSource
from domain.quarantine import (
    KEY_FIRST,
    KEY_LAST,
    LEGACY_QUARANTINE_DOC_ID,
    QUARANTINE_DOC_TYPE,
    QuarantinedDay,
    RetryPolicy,
    is_active,
    is_due,
    legacy_days,
    record_days,
    record_id,
    split_unknown_sources,
    updated_month_record,
)
from domain.quarantine import summary as quarantine_summary
from domain.regions import AREAS, REGIONS_BY_CODE
from domain.run_outcome import RUNS_DOC_ID, updated_runs


@runtime_checkable
class TransactionalDocuments(Protocol):
    """A document store that can make several writes one transaction (the embedded SQLite store): a batch's
    day documents then commit at once instead of one commit each. Reads inside see the store as it is and
    no other writer can slip in between a read and the write that follows it."""

    def prepare(self, docs: list[Document]) -> None:
        """Serialize these documents ahead of their writes (outside the transaction's lock)."""

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...


class PlannedBatch(Batch, total=False):
    loaded_at: str  # newest Gold load among its days: a quarantine record compares later loads to it


class Plan(TypedDict):
    mode: str
    previous_watermark: str | None
    watermark: str | None  # the value to commit (None: leave it); set-aside region-months do not hold it back
    partitions: int
    batches: list[PlannedBatch]
    parallelism: int
    planned_at: NotRequired[str]  # UTC ISO: quarantine back-offs are counted from it (plan time to plan time)
    held_back: NotRequired[list[str]]  # quarantined region-months whose back-off has not expired
    legacy_quarantine: NotRequired[bool]  # the single record of before was read: its commit empties it


class BatchResult(TypedDict):
    region_code: str
    month: str
    days: int
    days_written: int
    days_unchanged: int
    files_written: int
    first_day: str | None
    last_day: str | None
    attempted_days: list[str]  # the batch's days: those not quarantined leave the quarantine record
    quarantined: list[QuarantinedDay]  # days set aside for rows the domain cannot aggregate
    loaded_at: NotRequired[str]  # the batch's `loaded_at`, for the quarantine record
    error: NotRequired[str]  # the batch failed (quarantine.failed_batch_result): every attempted day set aside


Partition = tuple[str, str, str]  # (region_code, local day, max loaded_at)


def reread_since(watermark: str | None, overlap_seconds: int) -> str | None:
    """The `loaded_at` the incremental read starts after: the watermark minus the overlap window.

    Rows stamped before the watermark that commit after a run read it (a late commit) are still read by the
    runs within the window; days re-read unchanged are skipped by content hash. Computed here, passed as a
    parameter: one SQL text serves SQLite and T-SQL (no date arithmetic in SQL)."""
    if watermark is None or overlap_seconds <= 0:
        return watermark
    stamp = datetime.fromisoformat(watermark.replace("Z", "+00:00")) - timedelta(seconds=overlap_seconds)
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def active_quarantine(documents: DocumentStore) -> list[Document]:
    """Every region-month record with days set aside: one single-partition range query."""
    records = documents.query_range(SYSTEM_PARTITION, QUARANTINE_DOC_TYPE, KEY_FIRST, KEY_LAST)
    return [r for r in records if is_active(r)]


def _with_quarantine(
    changed: Sequence[Partition], records: Iterable[Document], now: str
) -> tuple[list[Partition], list[str]]:
    """(partitions to plan, region-month keys held back) given the quarantine records.

    A quarantined day re-read by the overlap window (no newer Gold load) waits for its back-off; a day of
    the same month that is not quarantined is planned as any other. A record is retried whole when its
    back-off expired or when Gold loaded one of its days after the record's `loaded_at`."""
    by_month = {(str(r["region"]), str(r["month"])): r for r in records}
    retried: set[tuple[str, str]] = set()
    for (region, month), rec in by_month.items():
        days, seen = set(record_days(rec)), str(rec.get("loaded_at") or "")
        gold_changed = any(p[0] == region and p[1] in days and p[2] > seen for p in changed)
        if gold_changed or is_due(rec, now):
            retried.add((region, month))
    planned: list[Partition] = []
    held: set[str] = set()
    for p in changed:
        key = (p[0], p[1][:7])
        waiting = by_month.get(key)
        if waiting is not None and key not in retried and p[1] in record_days(waiting):
            held.add(str(waiting["key"]))
            continue
        planned.append(p)
    for region, month in sorted(retried):
        rec = by_month[(region, month)]
        planned += [(region, day, str(rec.get("loaded_at") or "")) for day in record_days(rec)]
    held.update(str(by_month[k]["key"]) for k in by_month.keys() - retried)
    return planned, sorted(held)


def _planned_batches(partitions: Sequence[Partition]) -> list[PlannedBatch]:
    newest: dict[tuple[str, str], str] = {}
    for region, day, loaded_at in partitions:
        newest[(region, day[:7])] = max(newest.get((region, day[:7]), ""), loaded_at)
    return [
        PlannedBatch(**b, loaded_at=newest.get((b["region_code"], b["month"]), ""))
        for b in group_partitions(partitions)
    ]


def plan(
    gold: GoldSource,
    documents: DocumentStore,
    request: dict[str, Any],
    parallelism: int,
    *,
    now: str | None = None,
    overlap_seconds: int = 0,
) -> Plan:
    """Incremental: every (region, day) changed in Gold since the watermark minus `overlap_seconds`, less the
    quarantined days still in back-off, plus the quarantined ones due again. Backfill: every day in range
    (an operator's explicit request: back-offs do not apply). `now`: UTC ISO, the current time when omitted."""
    now = now or datetime.now(UTC).isoformat(timespec="seconds")
    mode = request.get("mode", "incremental")
    held: list[str] = []
    legacy = False
    if mode == "backfill":
        region_codes = request.get("region_codes") or None
        unknown = sorted(set(region_codes or []) - REGIONS_BY_CODE.keys())
        if unknown:
            raise ValueError(f"unknown region codes: {', '.join(unknown)}")
        partitions = gold.partitions_in_range(request["start_date"], request["end_date"], region_codes)
        previous, watermark = None, None
    elif mode == "incremental":
        marker = documents.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)
        previous = marker["value"] if marker else None
        changed = gold.changed_partitions(reread_since(previous, overlap_seconds))
        # Never back: the overlap re-reads loads older than the watermark.
        watermark = max(filter(None, [previous, *(p[2] for p in changed)]), default=None)
        # Quarantined days come back on their own schedule: a fix in code (a new source name) changes
        # nothing in Gold, so the watermark alone would never bring them back.
        partitions, held = _with_quarantine(changed, active_quarantine(documents), now)
        old_days = legacy_days(documents.get(SYSTEM_PARTITION, LEGACY_QUARANTINE_DOC_ID))
        legacy = bool(old_days)  # retried once; their outcome lands in per-month records
        partitions += [(region, day, "") for region, day in old_days]
    else:
        raise ValueError(f"unknown materialization mode {mode!r}")
    batches = _planned_batches(partitions)
    return Plan(
        mode=mode,
        previous_watermark=previous,
        watermark=watermark,
        partitions=sum(len(b["days"]) for b in batches),
        batches=batches,
        parallelism=parallelism,
        planned_at=now,
        held_back=held,
        legacy_quarantine=legacy,
    )


def _month_bounds(month: str) -> tuple[str, str]:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{month}-01", f"{month}-{calendar.monthrange(year, mon)[1]:02d}"


def _newer_than_stored(doc: Document) -> Callable[[Document | None], Document | None]:
    """Build step of a day: keep the stored day when it comes from newer Gold rows (a run that read Gold
    later wrote it); a day from the same rows but different content (a code change) replaces it."""

    def build(current: Document | None) -> Document | None:
        if current is not None and str(current.get("source_loaded_at", "")) > doc["source_loaded_at"]:
            return None
        return doc

    return build


class _DayCsvs:
    """The CSV files of a batch's built days, rendered from their arrays in one pass on first use."""

    def __init__(self, region: str, region_name: str, half_hours: HalfHours) -> None:
        self._args = (region, region_name, half_hours)
        self._by_date: dict[str, bytes] | None = None

    def of(self, day: str) -> bytes:
        if self._by_date is None:
            region, name, hh = self._args
            self._by_date = dict(
                zip(hh.dates, render_day_csvs(region, name, hh.timestamps, hh.values, hh.counts), strict=True)
            )
        return self._by_date[day]


def _write_days(
    documents: DocumentStore,
    files: FileStore,
    region: str,
    day_docs: Sequence[Document],
    known: dict[str, str],
    csvs: _DayCsvs,
) -> tuple[int, int, list[Document]]:
    """Write a batch's day documents: (days written, files written, what the store holds for each day).

    Each file is put before its document (the document is the commit marker), then the documents are written
    by compare-and-swap, in one transaction when the store has them; a day another run wrote from newer Gold
    rows is kept, and its file put again from it after the commit."""
    pending: list[Document] = []
    files_written = 0
    for doc in day_docs:
        file_name = day_file_name(region, doc["date"])
        if known.get(doc["id"]) == doc["content_hash"] and files.exists(file_name):
            continue  # unchanged: no versioned read, no write
        files_written += files.put(file_name, csvs.of(doc["date"]), CSV_CONTENT_TYPE)
        pending.append(doc)
    outcomes: dict[str, WriteOutcome] = {}
    together: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if isinstance(documents, TransactionalDocuments):
        documents.prepare(pending)
        together = documents.transaction()
    with together:
        for doc in pending:
            build, absent = _newer_than_stored(doc), doc["id"] not in known
            outcomes[doc["id"]] = write_versioned(documents, None, region, doc["id"], build, likely_absent=absent)
    stored: list[Document] = []
    for doc in day_docs:
        outcome = outcomes.get(doc["id"])
        if outcome is None:
            stored.append(doc)
            continue
        kept = outcome.stored
        if kept is not None and kept.get("content_hash") != doc["content_hash"]:  # another run's newer day
            files_written += files.put(day_file_name(region, doc["date"]), render_day_csv(kept), CSV_CONTENT_TYPE)
        stored += [kept] if kept is not None else []
    return sum(o.written for o in outcomes.values()), files_written, stored


def _write_month(
    documents: DocumentStore, files: FileStore, region: str, month: str, built: Sequence[Document] = ()
) -> WriteOutcome:
    """The month rollup, rebuilt from the day documents read after the month's version: a day written by
    another run after that read makes this write lose the race and rebuild with it.

    `built`: day documents this batch just built. When the stored days are exactly these (same ids, same
    hashes: a hashes-only query), they are used as they are instead of reading every body back.
    """
    first, last = _month_bounds(month)
    by_id = {d["id"]: d for d in built}

    def build(current: Document | None) -> Document | None:
        stored = documents.range_hashes(region, "day", first, last)
        if stored and all(by_id.get(i, {}).get("content_hash") == h for i, h in stored):
            month_days = [by_id[i] for i, _ in stored]
        else:
            month_days = documents.query_range(region, "day", first, last)
        return build_month_document(region, month, month_days) if month_days else None

    csv = CsvFile(month_file_name(region, month), render_month_csv)
    return write_versioned(documents, files, region, month_doc_id(region, month), build, csv)


def materialize_batch(
    gold: GoldSource, documents: DocumentStore, files: FileStore, batch: PlannedBatch, *, now: str | None = None
) -> BatchResult:
    """Materialize the listed days of one region-month, then that month's rollup, then announce what changed
    (changes feed and revision history, dated `now`: UTC ISO, the current time when omitted).

    Days with rows the domain cannot aggregate (unknown region or source) are quarantined: not written,
    returned in `quarantined`; the others materialize. Any other error raises: the activity's retries try
    again, then the orchestrator sets the whole region-month aside (quarantine.failed_batch_result).
    """
    region, month, wanted = batch["region_code"], batch["month"], set(batch["days"])
    if region not in REGIONS_BY_CODE:
        return _batch_result(
            batch,
            [],
            0,
            0,
            [
                QuarantinedDay(region_code=region, date=d, unknown_region=True, unknown_sources=[])
                for d in sorted(wanted)
            ],
        )
    rows, unknown = split_unknown_sources(gold.region_columns(region, min(wanted), max(wanted)))
    quarantined = [
        QuarantinedDay(region_code=region, date=d, unknown_region=False, unknown_sources=names)
        for d, names in unknown.items()
        if d in wanted
    ]
    built, half_hours = build_days(region, rows)
    day_docs = [d for d in built if d["date"] in wanted and d["date"] not in unknown]
    csvs = _DayCsvs(region, REGIONS_BY_CODE[region].name, half_hours)
    known = documents.content_hashes(region, [d["id"] for d in day_docs])
    # `stored`: what the store holds after the writes, what the changes feed announces.
    days_written, files_written, stored = _write_days(documents, files, region, day_docs, known, csvs)
    month_outcome = _write_month(documents, files, region, month, day_docs)
    files_written += month_outcome.file_written
    stored += [month_outcome.stored] if month_outcome.stored is not None else []
    record_changes(documents, region, month, stored, now or datetime.now(UTC).isoformat(timespec="microseconds"))
    return _batch_result(batch, [d["date"] for d in day_docs], days_written, files_written, quarantined)


def _batch_result(
    batch: PlannedBatch, dates: list[str], days_written: int, files_written: int, quarantined: list[QuarantinedDay]
) -> BatchResult:
    dates = sorted(dates)
    return BatchResult(
        region_code=batch["region_code"],
        month=batch["month"],
        days=len(dates),
        days_written=days_written,
        days_unchanged=len(dates) - days_written,
        files_written=files_written,
        first_day=dates[0] if dates else None,
        last_day=dates[-1] if dates else None,
        attempted_days=list(batch["days"]),
        quarantined=quarantined,
        loaded_at=str(batch.get("loaded_at") or ""),
    )


def _merged_catalog(existing: dict[str, Any] | None, results: Sequence[BatchResult]) -> dict[str, Any]:
    spans = {r["code"]: (r.get("first_day"), r.get("last_day")) for r in (existing or {}).get("regions", [])}
    for res in results:
        if res["first_day"] is None or res["last_day"] is None:
            continue
        first, last = spans.get(res["region_code"], (None, None))
        spans[res["region_code"]] = (
            min(filter(None, (first, res["first_day"]))),
            max(filter(None, (last, res["last_day"]))),
        )
    return {
        "id": CATALOG_DOC_ID,
        "region_code": SYSTEM_PARTITION,
        "doc_type": "catalog",
        "key": CATALOG_DOC_ID,
        "regions": [
            {
                "code": r.code,
                "name": r.name,
                "first_day": spans.get(r.code, (None, None))[0],
                "last_day": spans.get(r.code, (None, None))[1],
            }
            for r in AREAS  # the 12 regions and FR (domain.national_materialization)
        ],
    }


def _record_quarantine(
    documents: DocumentStore,
    plan_: Plan,
    results: Sequence[BatchResult],
    now: str,
    instance_id: str | None,
    policy: RetryPolicy,
) -> None:
    """Update the record of each region-month this run set days aside in, or attempted days of a record in."""
    active = {str(r["key"]): r for r in active_quarantine(documents)}
    retry_from = plan_.get("planned_at") or now
    for res in results:
        region, month = res["region_code"], res["month"]
        key, error, quarantined = f"{region}:{month}", res.get("error"), res.get("quarantined", [])
        attempted = list(res.get("attempted_days", []))
        record = active.get(key)
        touched = record is not None and bool(set(attempted) & set(record_days(record)))
        if error is None and not quarantined and not touched:
            continue  # nothing set aside, no record to clear: no read, no write

        def build(current: Document | None, res: BatchResult = res, attempted: list[str] = attempted) -> Document:
            return updated_month_record(
                current, region=res["region_code"], month=res["month"], attempted=attempted,
                quarantined=res.get("quarantined", []), error=res.get("error"),
                loaded_at=str(res.get("loaded_at") or ""), now=now, retry_from=retry_from,
                instance_id=instance_id, policy=policy, system_partition=SYSTEM_PARTITION,
            )  # fmt: skip

        write_versioned(documents, None, SYSTEM_PARTITION, record_id(region, month), build)
    if plan_.get("legacy_quarantine"):
        # Its days were retried by this run and are now in per-month records (or materialized).
        def emptied(current: Document | None) -> Document | None:
            if current is None or not current.get("days"):
                return None
            return {**current, "days": [], "count": 0, "unknown_regions": [], "unknown_sources": [],
                    "migrated_at": now}  # fmt: skip

        write_versioned(documents, None, SYSTEM_PARTITION, LEGACY_QUARANTINE_DOC_ID, emptied)


def _same_outcome(current: Document | None, new: Document) -> bool:
    """Only the times and the instance differ: an unchanged outcome is not written again."""
    volatile = ("updated_at", "instance_id", "_etag", "_ts", "_rid", "_self", "_attachments")
    return current is not None and {k: v for k, v in current.items() if k not in volatile} == {
        k: v for k, v in new.items() if k not in volatile
    }


def record_run(
    documents: DocumentStore, mode: str, *, failed_error: str | None, now: str, instance_id: str | None
) -> Document | None:
    """Write the `runs` document after a run ended (`failed_error`: the run failed); what the store holds."""

    def build(current: Document | None) -> Document | None:
        new = updated_runs(
            current, mode=mode, failed_error=failed_error, quarantine=active_quarantine(documents), now=now,
            instance_id=instance_id, system_partition=SYSTEM_PARTITION,
        )  # fmt: skip
        return None if _same_outcome(current, new) else new

    return write_versioned(documents, None, SYSTEM_PARTITION, RUNS_DOC_ID, build).stored


def commit(
    documents: DocumentStore,
    plan_: Plan,
    results: Sequence[BatchResult],
    *,
    now: str = "",
    instance_id: str | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    """After every batch ran or failed: record set-aside days, extend the catalog, advance the watermark (the
    commit), then record the run's outcome. The watermark passes set-aside days too (failed batches
    included): their quarantine records bring them back."""
    now = now or datetime.now(UTC).isoformat(timespec="seconds")
    _record_quarantine(documents, plan_, results, now, instance_id, policy or RetryPolicy())
    quarantined = [q for r in results for q in r.get("quarantined", [])]
    failed = [dict(r) for r in results if r.get("error") is not None]
    # Merged into what is stored at the write (compare-and-swap): a concurrent run's spans are kept.
    write_versioned(
        documents, None, SYSTEM_PARTITION, CATALOG_DOC_ID, lambda current: _merged_catalog(current, results)
    )
    watermark = plan_["watermark"]
    if watermark is not None and watermark != plan_["previous_watermark"]:

        def advanced(current: Document | None) -> Document | None:
            if current is not None and str(current.get("value", "")) >= str(watermark):
                return None  # never moves back
            return {
                "id": WATERMARK_DOC_ID,
                "region_code": SYSTEM_PARTITION,
                "doc_type": "watermark",
                "key": WATERMARK_DOC_ID,
                "value": watermark,
            }

        write_versioned(documents, None, SYSTEM_PARTITION, WATERMARK_DOC_ID, advanced)
    record_run(documents, plan_["mode"], failed_error=None, now=now, instance_id=instance_id)
    return {
        "mode": plan_["mode"],
        "partitions": plan_["partitions"],
        "batches": len(results),
        "days_written": sum(r["days_written"] for r in results),
        "days_unchanged": sum(r["days_unchanged"] for r in results),
        "files_written": sum(r["files_written"] for r in results),
        "watermark": plan_["watermark"] if plan_["watermark"] is not None else plan_["previous_watermark"],
        "quarantine": quarantine_summary(quarantined, failed),
        "held_back": list(plan_.get("held_back", [])),
    }
