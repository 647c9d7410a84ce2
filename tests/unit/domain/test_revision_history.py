"""Issue 22 item 1 (bounded documents): revision histories per region-day, capped; announcing through a bounded
index; a failed history write is not fatal; a retried batch appends no duplicate feed page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain import change_feed as feed
from domain import materialization as mat
from domain.aggregate import build_days, build_month_document
from domain.hashing import with_content_hash
from domain.ports import Document
from domain.revisions import (
    MAX_VERSION_BYTES,
    announced_doc_id,
    history,
    revisions_doc_id,
    version_of,
)
from stores.documents_embedded import EmbeddedDocumentStore
from tests.support.change_feed_contracts import NEW, OLD, follow, gold_at, run
from tests.support.fakes import CountingDocuments, MemoryDocuments, MemoryFiles, gold_day_rows

REGION, MONTH = "11", "2024-05"  # 31 days
VALUES = {"eolien": 100.0, "nucleaire": 500.0, "consommation": 300.0}


def built_days(n: int = 30, wind: float = 100.0) -> list[Document]:
    rows = [r for d in range(1, n + 1) for r in gold_day_rows(f"{MONTH}-{d:02d}", {**VALUES, "eolien": wind})]
    return build_days(REGION, rows)[0]


def revised(doc: Document, run_: int) -> Document:
    """`doc` as the run number `run_` materializes it: a little more production, another content hash."""
    totals = dict(doc["totals"], production_mwh=doc["totals"]["production_mwh"] + run_)
    return with_content_hash({**doc, "totals": totals, "source_loaded_at": f"2025-01-15T00:00:00.{run_:06d}Z"})


def pages(store: Any) -> list[dict[str, Any]]:
    return store.query_range(feed.CHANGES_PARTITION, feed.PAGE_DOC_TYPE, feed.page_key(1), feed.page_key(10**6))


def test_revision_history_is_bounded_per_day(tmp_path: Path) -> None:
    store = EmbeddedDocumentStore(tmp_path / "docs.sqlite")
    day = built_days(1)[0]
    sizes = []
    for n in range(1, 301):
        assert feed.record_changes(store, REGION, MONTH, [revised(day, n)], f"t{n:04d}", keep=5) == 1
        sizes.append(len(orjson.dumps(store.get(REGION, revisions_doc_id(REGION, day["key"])))))
    record = store.get(REGION, revisions_doc_id(REGION, day["key"]))
    assert record is not None
    assert (record["versions_total"], record["versions_dropped"]) == (300, 294)
    items = history(record)
    assert [v["number"] for v in items] == [1, 296, 297, 298, 299, 300]  # the first one and the last five
    # After the gap, the changes are from the previous kept version (number 1): +295 MWh, not +1.
    assert items[1]["changes"]["production_mwh"] == 295.0 and items[2]["changes"]["production_mwh"] == 1.0
    # Grows for the first 6 runs, then only by the digits of the growing numbers.
    assert max(sizes[6:]) - sizes[5] < 64 and sizes[5] > 4 * sizes[0]
    assert max(sizes) <= 1_024 + 6 * MAX_VERSION_BYTES  # the stated bound, for 6 versions
    assert len(pages(store)) == 300  # every run still announced, once


def test_month_totals_have_their_own_record() -> None:
    store = MemoryDocuments()
    days = built_days(3)
    month = build_month_document(REGION, MONTH, days)
    feed.record_changes(store, REGION, MONTH, [*days, month], "t1")
    assert store.get(REGION, revisions_doc_id(REGION, MONTH))["kind"] == "month"  # type: ignore[index]
    assert {store.get(REGION, revisions_doc_id(REGION, d["key"]))["kind"] for d in days} == {"day"}  # type: ignore[index]
    assert store.get(REGION, announced_doc_id(REGION, MONTH))["hashes"] == {  # type: ignore[index]
        d["key"]: d["content_hash"] for d in [*days, month]
    }


def test_a_batch_learns_what_was_announced_in_one_read() -> None:
    store = CountingDocuments()
    days = built_days(31)
    feed.record_changes(store, REGION, MONTH, days, "t1")
    store.gets, store.ranges = 0, []
    assert feed.record_changes(store, REGION, MONTH, days, "t2") == 0
    assert (store.gets, store.ranges) == (1, [])  # the index, not one history per day


class FailingHistories(MemoryDocuments):
    """Refuses every revision history write, as Cosmos refuses an item over 2 MB (413, not transient)."""

    def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
        if doc.get("doc_type") == "revisions":
            raise ValueError("413 RequestEntityTooLarge: Request size is too large")
        return super().replace_if(doc, version)


def test_history_write_failure_is_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    store = FailingHistories()
    with caplog.at_level(logging.ERROR, logger="domain.change_feed"):
        run(gold_at(OLD), store, {"mode": "incremental"})  # raises if a batch failed
    assert store.get("_system", "watermark") is not None  # the run committed
    announced, _ = follow(store, feed.START, 100)
    assert len(announced) == 12  # 4 days and 2 months in each of 2 regions, announced once
    failed = [r for r in caplog.records if getattr(r, "event", None) == feed.HISTORY_WRITE_FAILED]
    assert len(failed) == 12 and all(r.levelno == logging.ERROR for r in failed)
    assert {(r.region_code, r.doc_id) for r in failed} >= {("11", "11:2024-04-02:revisions")}  # type: ignore[attr-defined]
    assert all(r.error_type == "ValueError" and r.feed_page >= 1 for r in failed)  # type: ignore[attr-defined]
    # Histories are missing, announcements are not: a run again finds everything announced.
    run(gold_at(OLD), store, {"mode": "backfill", "start_date": "2024-04-01", "end_date": "2024-05-31"})
    assert len(follow(store, feed.START, 100)[0]) == 12


class CrashOnIndex(MemoryDocuments):
    """Fails the next write of an announced index: the page and the histories are written, the index is not."""

    crashes = 0

    def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
        if doc.get("doc_type") == "announced" and self.crashes:
            self.crashes -= 1
            raise ConnectionError("worker lost")
        return super().replace_if(doc, version)


def _batch_after_crash(store: CrashOnIndex, gold: Any) -> tuple[Any, Any]:
    batch = mat.plan(gold, store, {"mode": "incremental"}, parallelism=4)["batches"][0]
    store.crashes = 1
    with pytest.raises(ConnectionError):
        mat.materialize_batch(gold, store, MemoryFiles(), batch)
    return batch, follow(store, feed.START, 100)[0]


def test_retried_batch_appends_no_duplicate_feed_page() -> None:
    store = CrashOnIndex()
    batch, before = _batch_after_crash(store, gold_at(OLD))
    assert len(before) == 4 and len(pages(store)) == 1  # 3 days and the month: announced, not recorded
    mat.materialize_batch(gold_at(OLD), store, MemoryFiles(), batch)  # the activity's retry
    mat.materialize_batch(gold_at(OLD), store, MemoryFiles(), batch)  # and a plain run again
    assert len(pages(store)) == 1 and follow(store, feed.START, 100)[0] == before
    key = f"{batch['region_code']}:{batch['month']}"
    assert set(store.get(batch["region_code"], f"{key}:announced")["hashes"]) == {e["key"] for e in before}  # type: ignore[index]
    day = history(store.get(batch["region_code"], revisions_doc_id(batch["region_code"], before[0]["key"])))
    assert [v["feed_page"] for v in day] == [1]  # one version, pointing at the one page


def test_a_retry_whose_page_is_pushed_far_back_announces_again_never_zero() -> None:
    store = CrashOnIndex()
    batch, before = _batch_after_crash(store, gold_at(OLD))
    for i in range(feed.RECENT_PAGES):  # other batches' pages land in between
        feed.append_changes(store, [{"key": f"other-{i}"}], "t")
    mat.materialize_batch(gold_at(OLD), store, MemoryFiles(), batch)
    again = follow(store, feed.Position(feed.RECENT_PAGES + 2, 0), 100)[0]
    assert [e["key"] for e in again] == [e["key"] for e in before]  # announced twice: tolerated
    mat.materialize_batch(gold_at(OLD), store, MemoryFiles(), batch)
    assert len(pages(store)) == feed.RECENT_PAGES + 2  # and no more


def test_a_change_back_to_earlier_content_is_announced_again() -> None:
    """The batch key carries the index's generation: a later batch with the same contents as an old page is
    not mistaken for a retry of it."""
    store = MemoryDocuments()
    day_a, day_b = built_days(1)[0], built_days(1, wind=150.0)[0]
    assert [
        feed.record_changes(store, REGION, MONTH, [d], t) for d, t in ((day_a, "1"), (day_b, "2"), (day_a, "3"))
    ] == [
        1,
        1,
        1,
    ]
    assert [v["content_hash"] for v in history(store.get(REGION, revisions_doc_id(REGION, day_a["key"])))] == [
        day_a["content_hash"],
        day_b["content_hash"],
        day_a["content_hash"],
    ]
    assert len(pages(store)) == 3


def test_a_legacy_month_record_is_split_by_the_first_batch() -> None:
    store = MemoryDocuments()
    days = built_days(2)
    month = build_month_document(REGION, MONTH, days)
    first, second = revised(days[0], 1), revised(days[0], 2)
    legacy = {
        "id": revisions_doc_id(REGION, MONTH),
        "region_code": REGION,
        "doc_type": "revisions",
        "key": MONTH,
        "documents": {
            days[0]["key"]: [version_of(first, "t1", 1), version_of(second, "t2", 2)],
            days[1]["key"]: [version_of(days[1], "t1", 1)],
            MONTH: [version_of(month, "t1", 1)],
        },
    }
    store.upsert(legacy)
    # The API serves the legacy record until a batch splits it.
    from api.revisions import day_revisions

    assert day_revisions(store, REGION, days[0]["key"])["count"] == 2
    # days[1] and the month are unchanged: not announced again; days[0] changed: announced, its third version.
    assert feed.record_changes(store, REGION, MONTH, [revised(days[0], 3), days[1], month], "t3") == 1
    record = store.get(REGION, revisions_doc_id(REGION, days[0]["key"]))
    assert [v["number"] for v in history(record)] == [1, 2, 3]
    assert [v["materialized_at"] for v in history(record)] == ["t1", "t2", "t3"]
    assert "documents" not in store.get(REGION, revisions_doc_id(REGION, MONTH))  # type: ignore[operator]
    assert len(history(store.get(REGION, revisions_doc_id(REGION, MONTH)))) == 1
    assert day_revisions(store, REGION, days[1]["key"])["count"] == 1


def test_revisions_route_reads_only_the_days_record() -> None:
    from api.revisions import day_revisions

    store = CountingDocuments()
    run(gold_at(OLD), store, {"mode": "incremental"})
    run(gold_at(NEW), store, {"mode": "incremental"})
    store.gets, store.ranges = 0, []
    body = day_revisions(store, "11", "2024-04-02")
    assert (store.gets, store.ranges) == (1, [])
    assert (body["count"], body["versions_total"], body["versions_dropped"]) == (2, 2, 0)
    assert [i["number"] for i in body["items"]] == [1, 2]
