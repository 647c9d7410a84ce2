"""Overlapping runs: a backfill and the incremental run interleaved at their writes cannot regress each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain import materialization as mat
from domain.aggregate import build_day_documents, build_month_document
from domain.conditional_write import MAX_ATTEMPTS, ConcurrentWriteError, write_versioned
from domain.csv_export import render_day_csv, render_month_csv
from domain.naming import CATALOG_DOC_ID, day_file_name, month_file_name
from domain.ports import SYSTEM_PARTITION
from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows

OLD, NEW = "2025-01-15T00:00:00.000000Z", "2025-02-01T00:00:00.000000Z"
DAYS = ("2024-04-01", "2024-04-02", "2024-04-03")


def gold_at(edition: str, regions: tuple[str, ...] = ("11",)) -> MemoryGold:
    """Gold as a run read it: the old edition, or the new one where 2024-04-02 has more wind."""
    rows = {}
    for region in regions:
        rows[region] = [
            r
            for day in DAYS
            for r in gold_day_rows(
                day,
                {"eolien": 150.0 if (edition == NEW and day == "2024-04-02") else 100.0, "consommation": 300.0},
                loaded_at=NEW if (edition == NEW and day == "2024-04-02") else OLD,
            )
        ]
    return MemoryGold(rows)


class Interleaved(MemoryDocuments):
    """Runs `other` once, just before the first conditional write of a document whose id matches `when`:
    the other run's writes land between this writer's read and its write."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: tuple[Callable[[dict[str, Any]], bool], Callable[[], object]] | None = None

    def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
        if self.hook is not None and self.hook[0](doc):
            _, other = self.hook
            self.hook = None
            other()
        return super().replace_if(doc, version)


def run(gold: MemoryGold, docs: Any, files: MemoryFiles, request: dict[str, Any]) -> dict[str, Any]:
    plan = mat.plan(gold, docs, request, parallelism=4)
    results = [mat.materialize_batch(gold, docs, files, b) for b in plan["batches"]]
    return mat.commit(docs, plan, results, now="t", instance_id=request["mode"])


BACKFILL = {"mode": "backfill", "start_date": DAYS[0], "end_date": DAYS[-1]}


def assert_consistent(docs: MemoryDocuments | EmbeddedDocumentStore, files: MemoryFiles, gold: MemoryGold) -> None:
    """Every day is what the newest Gold gives; the month rolls up the stored days; its file renders it."""
    for region, rows in gold.rows.items():
        expected = {d["id"]: d["content_hash"] for d in build_day_documents(region, rows)}
        stored = docs.query_range(region, "day", DAYS[0], DAYS[-1])
        assert {d["id"]: d["content_hash"] for d in stored} == expected
        month = docs.get(region, f"{region}:2024-04")
        assert month is not None
        assert month["content_hash"] == build_month_document(region, "2024-04", stored)["content_hash"]
        assert files.read(month_file_name(region, "2024-04")) == render_month_csv(month)
        for day in stored:  # each day's file renders the day the store kept, whichever run wrote it
            assert files.read(day_file_name(region, day["date"])) == render_day_csv(day)


def test_a_backfill_that_read_older_gold_does_not_regress_a_newer_day() -> None:
    docs, files = MemoryDocuments(), MemoryFiles()
    run(gold_at(NEW), docs, files, {"mode": "incremental"})
    summary = run(gold_at(OLD), docs, files, BACKFILL)  # a backfill that read Gold before the new edition
    assert summary["days_written"] == 0
    assert_consistent(docs, files, gold_at(NEW))


def test_a_month_rebuilt_while_another_run_writes_a_day_is_rebuilt_with_it() -> None:
    """The backfill reads the month's days, the incremental run then writes the new day and the month; the
    backfill's month write loses the race and rebuilds from the new day instead of dropping it."""
    docs, files = Interleaved(), MemoryFiles()
    run(gold_at(OLD), docs, files, {"mode": "incremental"})
    docs.hook = (lambda d: d["id"] == "11:2024-04", lambda: run(gold_at(NEW), docs, files, {"mode": "incremental"}))
    # The backfill rewrites the month only if it differs: make it differ with an old-Gold day changed in place.
    stale = gold_at(OLD)
    stale.rows["11"] = [r._replace(valeur_mw=120.0) if r.date_locale == "2024-04-03" else r for r in stale.rows["11"]]
    run(stale, docs, files, {**BACKFILL, "start_date": "2024-04-03"})
    assert docs.hook is None  # the interleaving happened
    month = docs.get("11", "11:2024-04")
    assert month is not None and month["energy_mwh"]["eolien"] == pytest.approx((150 + 120 + 100) * 24)
    assert files.read(month_file_name("11", "2024-04")) == render_month_csv(month)


def test_catalog_spans_of_a_concurrent_commit_are_kept() -> None:
    docs, files = Interleaved(), MemoryFiles()
    two_regions = gold_at(OLD, ("11", "24"))
    only_11, only_24 = MemoryGold({"11": two_regions.rows["11"]}), MemoryGold({"24": two_regions.rows["24"]})
    docs.hook = (lambda d: d["id"] == CATALOG_DOC_ID, lambda: run(only_24, docs, files, BACKFILL))
    run(only_11, docs, files, BACKFILL)
    catalog = docs.get(SYSTEM_PARTITION, CATALOG_DOC_ID)
    assert catalog is not None
    spans = {r["code"]: (r["first_day"], r["last_day"]) for r in catalog["regions"]}
    assert spans["11"] == spans["24"] == (DAYS[0], DAYS[-1])


def test_a_writer_that_always_loses_gives_up_with_an_error() -> None:
    class AlwaysBehind(MemoryDocuments):
        def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
            return False

    docs = AlwaysBehind()
    with pytest.raises(ConcurrentWriteError, match=str(MAX_ATTEMPTS)):
        write_versioned(docs, None, SYSTEM_PARTITION, "x", lambda _: {"id": "x", "region_code": SYSTEM_PARTITION})


def _in_thread(fn: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # surfaced in the test's thread
            errors.append(exc)

    return threading.Thread(target=target)


@pytest.mark.parametrize("attempt", range(3))
def test_backfill_and_incremental_in_threads_on_the_embedded_store(tmp_path: Path, attempt: int) -> None:
    """Both runs at once on the real SQLite store, over several regions: whatever the interleaving, the
    result is the newest Gold's and every month and file agrees with its days."""
    regions = ("11", "24", "27", "28")
    docs, files = EmbeddedDocumentStore(tmp_path / "docs.sqlite"), MemoryFiles()
    run(gold_at(OLD, regions), docs, files, {"mode": "incremental"})
    errors: list[BaseException] = []
    threads = [
        _in_thread(lambda: run(gold_at(OLD, regions), docs, files, BACKFILL), errors),
        _in_thread(lambda: run(gold_at(NEW, regions), docs, files, {"mode": "incremental"}), errors),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert_consistent(docs, files, gold_at(NEW, regions))


def test_a_document_created_by_another_writer_after_it_was_seen_absent_is_not_overwritten() -> None:
    """The first attempt of a write that saw no document creates it without reading; if another run created
    it in between, the create fails and the write falls back to read, compare and swap."""
    docs, files = MemoryDocuments(), MemoryFiles()
    newer: dict[str, Any] = {
        "id": "11:2024-04-02",
        "region_code": "11",
        "source_loaded_at": NEW,
        "content_hash": "n",
        "x": 1,
    }
    older = {**newer, "source_loaded_at": OLD, "content_hash": "o"}
    docs.upsert(newer)  # created after the older writer saw it absent
    outcome = write_versioned(docs, files, "11", newer["id"], mat._newer_than_stored(older), likely_absent=True)
    assert not outcome.written and outcome.attempts == 2
    assert docs.get("11", newer["id"]) == newer


def test_a_batchs_days_are_written_in_one_transaction_of_the_embedded_store(tmp_path: Path) -> None:
    docs, files, gold = EmbeddedDocumentStore(tmp_path / "documents.sqlite"), MemoryFiles(), gold_at(OLD)
    statements: list[str] = []
    docs._connection().set_trace_callback(statements.append)
    run(gold, docs, files, {"mode": "incremental"})
    begin, commit = statements.index("BEGIN IMMEDIATE"), statements.index("COMMIT")
    day_writes = [s for s in statements if s.startswith("INSERT INTO documents") and "'day'" in s]
    assert len(day_writes) == len(DAYS) and all(s in statements[begin:commit] for s in day_writes)
    # One batch (one region-month): one transaction for its days, one for its month document and the month's
    # stored items (a day or month document is written with its items).
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert_consistent(docs, files, gold)
