"""The materialization steps, as plain functions over the ports (the activities only wire them).

Write order makes every step safe to crash and to repeat: the CSV file is written before its document,
and the document (with its content hash) is the commit marker. A crash between the two leaves the old
document, so the next run sees a hash mismatch and writes both again; an unchanged day is skipped.
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict, runtime_checkable

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
    QUARANTINE_DOC_ID,
    QuarantinedDay,
    quarantined_partitions,
    split_unknown_sources,
    updated_record,
)
from domain.quarantine import summary as quarantine_summary
from domain.regions import AREAS, REGIONS_BY_CODE


@runtime_checkable
class TransactionalDocuments(Protocol):
    """A document store that can make several writes one transaction (the embedded SQLite store): a batch's
    day documents then commit at once instead of one commit each. Reads inside see the store as it is and
    no other writer can slip in between a read and the write that follows it."""

    def prepare(self, docs: list[Document]) -> None:
        """Serialize these documents ahead of their writes (outside the transaction's lock)."""

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...


class Plan(TypedDict):
    mode: str
    previous_watermark: str | None
    watermark: str | None  # the value to commit when every batch succeeded (None: leave it)
    partitions: int
    batches: list[Batch]
    parallelism: int


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


def plan(gold: GoldSource, documents: DocumentStore, request: dict[str, Any], parallelism: int) -> Plan:
    """Incremental: every (region, day) changed in Gold since the watermark. Backfill: every day in range."""
    mode = request.get("mode", "incremental")
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
        partitions = gold.changed_partitions(previous)
        watermark = max((p[2] for p in partitions), default=previous)
        # Quarantined days are tried again by every incremental run until they materialize: a fix in code
        # (a new source name) changes nothing in Gold, so the watermark alone would never bring them back.
        retried = quarantined_partitions(documents.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID))
        partitions = partitions + [(region, day, "") for region, day in retried]
    else:
        raise ValueError(f"unknown materialization mode {mode!r}")
    return Plan(
        mode=mode,
        previous_watermark=previous,
        watermark=watermark,
        partitions=len(partitions),
        batches=group_partitions(partitions),
        parallelism=parallelism,
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
    gold: GoldSource, documents: DocumentStore, files: FileStore, batch: Batch, *, now: str | None = None
) -> BatchResult:
    """Materialize the listed days of one region-month, then that month's rollup, then announce what changed
    (changes feed and revision history, dated `now`: UTC ISO, the current time when omitted).

    Days with rows the domain cannot aggregate (unknown region or source) are quarantined: not written,
    returned in `quarantined`; the others materialize.
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
    batch: Batch, dates: list[str], days_written: int, files_written: int, quarantined: list[QuarantinedDay]
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
    documents: DocumentStore, results: Sequence[BatchResult], now: str, instance_id: str | None
) -> list[QuarantinedDay]:
    """Update the quarantine record with this run's outcome; this run's quarantined days."""
    quarantined = [q for r in results for q in r.get("quarantined", [])]
    existing = documents.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID)
    if existing is None and not quarantined:
        return quarantined  # nothing was ever quarantined: no record to write
    attempted = [(r["region_code"], d) for r in results for d in r.get("attempted_days", [])]
    record = updated_record(
        existing, attempted, quarantined, system_partition=SYSTEM_PARTITION, now=now, instance_id=instance_id
    )
    if existing is None or quarantined or existing.get("days") != record["days"]:

        def build(current: Document | None) -> Document:
            return updated_record(
                current, attempted, quarantined, system_partition=SYSTEM_PARTITION, now=now, instance_id=instance_id
            )

        write_versioned(documents, None, SYSTEM_PARTITION, QUARANTINE_DOC_ID, build)
    return quarantined


def commit(
    documents: DocumentStore,
    plan_: Plan,
    results: Sequence[BatchResult],
    *,
    now: str = "",
    instance_id: str | None = None,
) -> dict[str, Any]:
    """After every batch ran: record quarantined days, extend the catalog, then advance the watermark (last,
    as the commit). The watermark passes quarantined days too: the quarantine record brings them back."""
    quarantined = _record_quarantine(documents, results, now, instance_id)
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
    return {
        "mode": plan_["mode"],
        "partitions": plan_["partitions"],
        "batches": len(results),
        "days_written": sum(r["days_written"] for r in results),
        "days_unchanged": sum(r["days_unchanged"] for r in results),
        "files_written": sum(r["files_written"] for r in results),
        "watermark": plan_["watermark"] if plan_["watermark"] is not None else plan_["previous_watermark"],
        "quarantine": quarantine_summary(quarantined),
    }
