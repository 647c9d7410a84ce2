"""The materialization steps over in-memory ports: planning, idempotent writes, crash repair, commit."""

from __future__ import annotations

from typing import Any

import pytest

from domain import materialization as mat
from domain.naming import CATALOG_DOC_ID, WATERMARK_DOC_ID, day_file_name, month_file_name
from domain.quarantine import QUARANTINE_DOC_ID
from stores.ports import SYSTEM_PARTITION
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows

DAYS = ("2024-03-30", "2024-03-31", "2024-04-01")  # 2024-03-31 is the spring DST day


def make_gold() -> MemoryGold:
    rows = [r for day in DAYS for r in gold_day_rows(day, {"eolien": 100.0, "solaire": 20.0, "consommation": 150.0})]
    return MemoryGold({"11": rows})


def run_all(gold: MemoryGold, docs: MemoryDocuments, files: MemoryFiles, request: dict[str, Any]) -> dict[str, Any]:
    plan = mat.plan(gold, docs, request, parallelism=4)
    results = [mat.materialize_batch(gold, docs, files, b) for b in plan["batches"]]
    run = sum(1 for d in docs.docs.values() if d.get("doc_type") == "catalog")  # a clock: one tick per run
    return mat.commit(docs, plan, results, now=f"t{run}", instance_id="test")


def test_first_run_materializes_every_day_and_month_then_nothing() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    summary = run_all(gold, docs, files, {"mode": "incremental"})
    assert summary["partitions"] == 3 and summary["batches"] == 2 and summary["days_written"] == 3
    for day in DAYS:
        assert docs.get("11", f"11:{day}") is not None and files.exists(day_file_name("11", day))
    assert files.exists(month_file_name("11", "2024-03")) and files.exists(month_file_name("11", "2024-04"))
    assert docs.get("11", "11:2024-03-31")["interval_count"] == 46  # type: ignore[index]
    assert docs.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)["value"] == "2025-01-15T00:00:00.000000Z"  # type: ignore[index]
    catalog = docs.get(SYSTEM_PARTITION, CATALOG_DOC_ID)
    assert catalog is not None
    idf = next(r for r in catalog["regions"] if r["code"] == "11")
    assert (idf["first_day"], idf["last_day"]) == ("2024-03-30", "2024-04-01")
    assert next(r for r in catalog["regions"] if r["code"] == "93")["first_day"] is None

    upserts, writes = docs.upserts, files.writes
    again = run_all(gold, docs, files, {"mode": "incremental"})
    assert again["partitions"] == 0 and again["days_written"] == 0
    assert files.writes == writes and docs.upserts == upserts  # not even the catalog: unchanged


def test_backfill_rewrites_nothing_when_unchanged_and_leaves_the_watermark() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    run_all(gold, docs, files, {"mode": "incremental"})
    writes = files.writes
    summary = run_all(gold, docs, files, {"mode": "backfill", "start_date": "2024-03-31", "end_date": "2024-04-01"})
    assert summary["partitions"] == 2 and summary["days_written"] == 0 and files.writes == writes
    assert summary["watermark"] is None


def test_a_changed_day_rewrites_that_day_and_its_month_only() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    run_all(gold, docs, files, {"mode": "incremental"})
    newer = "2025-02-01T00:00:00.000000Z"
    gold.rows["11"] = [
        r._replace(valeur_mw=90.0, loaded_at=newer) if (r.date_locale, r.source_name) == ("2024-04-01", "eolien") else r
        for r in gold.rows["11"]
    ]
    before = files.read(day_file_name("11", "2024-03-31"))
    summary = run_all(gold, docs, files, {"mode": "incremental"})
    assert summary["partitions"] == 1 and summary["days_written"] == 1 and summary["files_written"] == 2
    assert files.read(day_file_name("11", "2024-03-31")) == before
    assert docs.get("11", "11:2024-04-01")["totals"]["energy_mwh"]["eolien"] == pytest.approx(90.0 * 24)  # type: ignore[index]
    assert docs.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)["value"] == newer  # type: ignore[index]


class CrashOnUpsert(MemoryDocuments):
    """Fails the first document write after the file write: the crash window the write order covers."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def upsert(self, doc: dict[str, Any]) -> None:
        if self.armed and doc.get("doc_type") == "day":
            self.armed = False
            raise ConnectionError("dropped connection")
        super().upsert(doc)


def test_crash_between_file_and_document_is_repaired_by_the_next_run() -> None:
    gold, docs, files = make_gold(), CrashOnUpsert(), MemoryFiles()
    with pytest.raises(ConnectionError):
        run_all(gold, docs, files, {"mode": "incremental"})
    assert docs.get(SYSTEM_PARTITION, WATERMARK_DOC_ID) is None  # not committed
    run_all(gold, docs, files, {"mode": "incremental"})
    for day in DAYS:
        assert docs.get("11", f"11:{day}") is not None and files.exists(day_file_name("11", day))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"mode": "backfill", "start_date": "2024-01-01", "end_date": "2024-01-02", "region_codes": ["99"]}, "99"),
        ({"mode": "sideways"}, "sideways"),
    ],
)
def test_plan_rejects_bad_requests(request_: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mat.plan(make_gold(), MemoryDocuments(), request_, parallelism=4)


# --- quarantine of rows the domain cannot aggregate ----------------------------------------------------


def _with_unknown_source(gold: MemoryGold, day: str, source: str) -> None:
    gold.rows["11"] = gold.rows["11"] + [
        r._replace(source_name=source) for r in gold.rows["11"] if (r.date_locale, r.source_name) == (day, "eolien")
    ]


def test_an_unknown_source_quarantines_its_day_and_the_rest_materializes() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    _with_unknown_source(gold, "2024-03-31", "hydrogene")
    summary = run_all(gold, docs, files, {"mode": "incremental"})
    assert summary["days_written"] == 2
    assert summary["quarantine"] == {
        "days": 1,
        "unknown_regions": [],
        "unknown_sources": ["hydrogene"],
        "partitions": [{"region_code": "11", "month": "2024-03", "days": ["2024-03-31"]}],
    }
    assert docs.get("11", "11:2024-03-31") is None and docs.get("11", "11:2024-04-01") is not None
    assert docs.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)["value"] == "2025-01-15T00:00:00.000000Z"  # type: ignore[index]
    record = docs.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID)
    assert record is not None and record["unknown_sources"] == ["hydrogene"]
    assert [(d["region_code"], d["date"], d["unknown_sources"]) for d in record["days"]] == [
        ("11", "2024-03-31", ["hydrogene"])
    ]


def test_a_quarantined_day_is_retried_by_each_incremental_run_until_it_materializes() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    _with_unknown_source(gold, "2024-03-31", "hydrogene")
    run_all(gold, docs, files, {"mode": "incremental"})
    again = run_all(gold, docs, files, {"mode": "incremental"})
    assert again["partitions"] == 1 and again["quarantine"]["days"] == 1  # nothing new in Gold, still retried
    first_seen = docs.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID)["days"][0]["first_seen"]  # type: ignore[index]
    # The fix (here: the rows named with a known source) changes no loaded_at: only the record brings it back.
    gold.rows["11"] = [r for r in gold.rows["11"] if r.source_name != "hydrogene"]
    fixed = run_all(gold, docs, files, {"mode": "incremental"})
    assert fixed["days_written"] == 1 and fixed["quarantine"]["days"] == 0
    assert docs.get("11", "11:2024-03-31") is not None
    record = docs.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID)
    assert record is not None and record["days"] == [] and record["unknown_sources"] == []
    assert first_seen == "t0"


def test_an_unknown_region_is_quarantined_and_named() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    gold.rows["99"] = gold_day_rows("2024-04-01", {"eolien": 1.0})
    summary = run_all(gold, docs, files, {"mode": "incremental"})
    assert summary["days_written"] == 3 and summary["quarantine"]["unknown_regions"] == ["99"]
    assert summary["quarantine"]["partitions"] == [{"region_code": "99", "month": "2024-04", "days": ["2024-04-01"]}]
    record = docs.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID)
    assert record is not None and record["unknown_regions"] == ["99"] and record["days"][0]["unknown_region"]


def test_no_record_is_written_when_nothing_was_ever_quarantined() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    run_all(gold, docs, files, {"mode": "incremental"})
    assert docs.get(SYSTEM_PARTITION, QUARANTINE_DOC_ID) is None
