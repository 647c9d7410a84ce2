"""The materialization steps, as plain functions over the ports (the activities only wire them).

Write order makes every step safe to crash and to repeat: the CSV file is written before its document,
and the document (with its content hash) is the commit marker. A crash between the two leaves the old
document, so the next run sees a hash mismatch and writes both again; an unchanged day is skipped.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from typing import Any, TypedDict

from domain.aggregate import build_day_documents, build_month_document
from domain.csv_export import render_day_csv, render_month_csv
from domain.naming import (
    CATALOG_DOC_ID,
    WATERMARK_DOC_ID,
    day_file_name,
    month_doc_id,
    month_file_name,
)
from domain.planning import Batch, group_partitions
from domain.ports import SYSTEM_PARTITION, DocumentStore, FileStore, GoldSource
from domain.quarantine import (
    QUARANTINE_DOC_ID,
    QuarantinedDay,
    quarantined_partitions,
    split_unknown_sources,
    updated_record,
)
from domain.quarantine import summary as quarantine_summary
from domain.regions import REGIONS, REGIONS_BY_CODE

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


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


def _write_if_changed(
    documents: DocumentStore, files: FileStore, doc: dict[str, Any], known_hash: str | None, file_name: str, csv: bytes
) -> tuple[bool, bool]:
    """Write the file then the document when the content changed; (doc written, file written)."""
    if known_hash == doc["content_hash"] and files.exists(file_name):
        return False, False
    file_written = files.put(file_name, csv, CSV_CONTENT_TYPE)
    documents.upsert(doc)
    return True, file_written


def materialize_batch(gold: GoldSource, documents: DocumentStore, files: FileStore, batch: Batch) -> BatchResult:
    """Materialize the listed days of one region-month, then that month's rollup.

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
    rows, unknown = split_unknown_sources(gold.region_rows(region, min(wanted), max(wanted)))
    quarantined = [
        QuarantinedDay(region_code=region, date=d, unknown_region=False, unknown_sources=names)
        for d, names in unknown.items()
        if d in wanted
    ]
    day_docs = [d for d in build_day_documents(region, rows) if d["date"] in wanted and d["date"] not in unknown]
    known = documents.content_hashes(region, [d["id"] for d in day_docs])
    days_written = files_written = 0
    for doc in day_docs:
        wrote, file_wrote = _write_if_changed(
            documents, files, doc, known.get(doc["id"]), day_file_name(region, doc["date"]), render_day_csv(doc)
        )
        days_written += wrote
        files_written += file_wrote

    first, last = _month_bounds(month)
    month_days = documents.query_range(region, "day", first, last)
    if month_days:
        month_doc = build_month_document(region, month, month_days)
        known_month = documents.content_hashes(region, [month_doc_id(region, month)])
        _, file_wrote = _write_if_changed(
            documents,
            files,
            month_doc,
            known_month.get(month_doc["id"]),
            month_file_name(region, month),
            render_month_csv(month_doc),
        )
        files_written += file_wrote
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
            for r in REGIONS
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
        documents.upsert(record)
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
    catalog = _merged_catalog(documents.get(SYSTEM_PARTITION, CATALOG_DOC_ID), results)
    documents.upsert(catalog)
    if plan_["watermark"] is not None and plan_["watermark"] != plan_["previous_watermark"]:
        documents.upsert(
            {
                "id": WATERMARK_DOC_ID,
                "region_code": SYSTEM_PARTITION,
                "doc_type": "watermark",
                "key": WATERMARK_DOC_ID,
                "value": plan_["watermark"],
            }
        )
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
