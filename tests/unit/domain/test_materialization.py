"""The materialization steps over in-memory ports: planning, idempotent writes, crash repair, commit."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from domain import materialization as mat
from domain.naming import CATALOG_DOC_ID, WATERMARK_DOC_ID, day_file_name, month_file_name
from domain.quarantine import RetryPolicy, failed_batch_result, record_id
from domain.run_outcome import RUNS_DOC_ID
from localdev.gold_import import import_files
from localdev.gold_schema import SOURCE_IDS
from stores.gold import gold_reader
from stores.ports import SYSTEM_PARTITION
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "eco2mix" / "odre_cons_def_hdf_dst.csv"
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
        "failed": [],
    }
    assert docs.get("11", "11:2024-03-31") is None and docs.get("11", "11:2024-04-01") is not None
    assert docs.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)["value"] == "2025-01-15T00:00:00.000000Z"  # type: ignore[index]
    record = docs.get(SYSTEM_PARTITION, record_id("11", "2024-03"))
    assert record is not None and record["key"] == "11:2024-03" and record["failures"] == 1
    assert [(d["date"], d["unknown_sources"]) for d in record["days"]] == [("2024-03-31", ["hydrogene"])]
    assert docs.get(SYSTEM_PARTITION, record_id("11", "2024-04")) is None  # nothing set aside there: no record


def test_a_quarantined_day_materializes_once_fixed_and_its_record_is_cleared() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    _with_unknown_source(gold, "2024-03-31", "hydrogene")
    run_all(gold, docs, files, {"mode": "incremental"})
    again = run_all(gold, docs, files, {"mode": "incremental"})  # a soft failure: the next run retries it
    assert again["partitions"] == 1 and again["quarantine"]["days"] == 1
    first_seen = docs.get(SYSTEM_PARTITION, record_id("11", "2024-03"))["days"][0]["first_seen"]  # type: ignore[index]
    # The fix (here: the rows named with a known source) changes no loaded_at: only the record brings it back.
    gold.rows["11"] = [r for r in gold.rows["11"] if r.source_name != "hydrogene"]
    fixed = run_all(gold, docs, files, {"mode": "incremental"})
    assert fixed["days_written"] == 1 and fixed["quarantine"]["days"] == 0
    assert docs.get("11", "11:2024-03-31") is not None
    record = docs.get(SYSTEM_PARTITION, record_id("11", "2024-03"))
    assert record is not None and record["days"] == [] and record["failures"] == 0 and record["next_retry_at"] is None
    assert first_seen == "t0"
    runs = docs.get(SYSTEM_PARTITION, RUNS_DOC_ID)
    assert runs is not None and runs["quarantined_region_months"] == 0 and runs["quarantined"] == []


def test_an_unknown_region_is_quarantined_and_named() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    gold.rows["99"] = gold_day_rows("2024-04-01", {"eolien": 1.0})
    summary = run_all(gold, docs, files, {"mode": "incremental"})
    assert summary["days_written"] == 3 and summary["quarantine"]["unknown_regions"] == ["99"]
    assert summary["quarantine"]["partitions"] == [{"region_code": "99", "month": "2024-04", "days": ["2024-04-01"]}]
    record = docs.get(SYSTEM_PARTITION, record_id("99", "2024-04"))
    assert record is not None and record["days"][0]["unknown_region"]


def test_no_record_is_written_when_nothing_was_ever_quarantined() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    run_all(gold, docs, files, {"mode": "incremental"})
    assert [d for d in docs.docs.values() if d.get("doc_type") == "quarantine"] == []


# --- issue 22: failing batches, back-off, the watermark's overlap -----------------------------------------


class FailingGold(MemoryGold):
    """Gold whose read of one region-month raises, as a value stored as text makes the column read raise."""

    def __init__(self, rows: dict[str, list[Any]], failing: tuple[str, str]) -> None:
        super().__init__(rows)
        self.failing = failing
        self.reads: list[tuple[str, str]] = []

    def region_columns(self, region_code: str, first_day: str, last_day: str) -> Any:
        self.reads.append((region_code, first_day[:7]))
        if (region_code, first_day[:7]) == self.failing:
            raise ValueError("could not convert string to float: 'n/a'")
        return super().region_columns(region_code, first_day, last_day)


POLICY = RetryPolicy(base_seconds=900, max_seconds=86_400, set_aside_after=3)


def run_at(
    now: str, gold: MemoryGold, docs: MemoryDocuments, files: MemoryFiles, overlap_seconds: int = 3600
) -> dict[str, Any]:
    """One incremental run as the orchestrator makes it: a batch that raises becomes a failed result."""
    plan = mat.plan(gold, docs, {"mode": "incremental"}, parallelism=4, now=now, overlap_seconds=overlap_seconds)
    results: list[Any] = []
    for batch in plan["batches"]:
        try:
            results.append(mat.materialize_batch(gold, docs, files, batch))
        except Exception as exc:
            results.append(failed_batch_result(batch, f"Activity function 'materialize_batch' failed: {exc!r}"))
    return mat.commit(docs, plan, results, now=now, instance_id="test", policy=POLICY)


def at(hh_mm: str) -> str:
    return f"2026-01-01T{hh_mm}:00+00:00"


def test_a_failing_batch_does_not_fail_the_run_and_the_watermark_advances() -> None:
    rows = make_gold().rows["11"]
    gold = FailingGold({"11": rows, "93": gold_day_rows("2024-03-31", {"eolien": 5.0})}, failing=("93", "2024-03"))
    docs, files = MemoryDocuments(), MemoryFiles()
    summary = run_at(at("00:00"), gold, docs, files)
    assert summary["days_written"] == 3 and docs.get("93", "93:2024-03-31") is None
    assert (
        summary["quarantine"]["failed"][0]["region_code"] == "93"
        and "n/a" in summary["quarantine"]["failed"][0]["error"]
    )
    assert docs.get(SYSTEM_PARTITION, WATERMARK_DOC_ID)["value"] == "2025-01-15T00:00:00.000000Z"  # type: ignore[index]
    record = docs.get(SYSTEM_PARTITION, record_id("93", "2024-03"))
    assert record is not None and record["days"][0]["failed"] and record["failures"] == 1
    runs = docs.get(SYSTEM_PARTITION, RUNS_DOC_ID)
    assert runs is not None and runs["quarantined"] == ["93:2024-03"] and runs["last_error"] == "93:2024-03: ValueError"


def test_quarantined_month_is_retried_with_backoff_not_every_run() -> None:
    gold = FailingGold({"11": make_gold().rows["11"]}, failing=("11", "2024-03"))
    docs, files = MemoryDocuments(), MemoryFiles()
    tried: list[bool] = []
    for now in ("00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30", "01:45"):
        gold.reads.clear()
        summary = run_at(at(now), gold, docs, files)
        tried.append(("11", "2024-03") in gold.reads)
        if now == "00:45":  # set aside: the overlap re-reads its days, the plan holds them back
            assert summary["held_back"] == ["11:2024-03"]
    # Soft failures 1 and 2: the next run retries; the 3rd sets it aside for base x 2^2 = 1 h (from 00:30).
    assert tried == [True, True, True, False, False, False, True, False]
    record = docs.get(SYSTEM_PARTITION, record_id("11", "2024-03"))
    assert record is not None and (record["failures"], record["set_aside"]) == (4, True)
    assert record["next_retry_at"] == "2026-01-01T03:30:00+00:00"  # 4th failure: 2 h
    # Gold changes for the quarantined day (a fix loaded later): retried at once, before its back-off.
    newer = "2025-01-16T00:00:00.000000Z"
    gold.rows["11"] = [r._replace(loaded_at=newer) if r.date_locale == "2024-03-31" else r for r in gold.rows["11"]]
    gold.failing = ("none", "")
    gold.reads.clear()
    summary = run_at(at("02:00"), gold, docs, files)
    assert ("11", "2024-03") in gold.reads and docs.get("11", "11:2024-03-31") is not None
    record = docs.get(SYSTEM_PARTITION, record_id("11", "2024-03"))
    assert record is not None and record["days"] == [] and record["failures"] == 0


def test_the_single_record_of_before_is_folded_in_once() -> None:
    gold, docs, files = make_gold(), MemoryDocuments(), MemoryFiles()
    run_at(at("00:00"), gold, docs, files)  # everything materialized, watermark set
    _with_unknown_source(gold, "2024-03-31", "hydrogene")  # as if it had been quarantined by the old code
    docs.upsert({"id": "quarantine", "region_code": SYSTEM_PARTITION, "doc_type": "quarantine", "key": "quarantine",
                 "days": [{"region_code": "11", "date": "2024-03-31", "unknown_region": False,
                           "unknown_sources": ["hydrogene"]}]})  # fmt: skip
    summary = run_at(at("00:15"), gold, docs, files, overlap_seconds=0)  # retried though Gold did not change
    assert summary["quarantine"]["days"] == 1
    legacy = docs.get(SYSTEM_PARTITION, "quarantine")
    assert legacy is not None and legacy["days"] == [] and legacy["migrated_at"] == at("00:15")
    record = docs.get(SYSTEM_PARTITION, record_id("11", "2024-03"))
    assert record is not None and [d["date"] for d in record["days"]] == ["2024-03-31"]


@pytest.mark.parametrize(
    ("watermark", "overlap", "expected"),
    [
        (None, 3600, None),
        ("2025-01-15T00:00:00.000000Z", 0, "2025-01-15T00:00:00.000000Z"),
        ("2025-01-15T00:00:00.000000Z", 3600, "2025-01-14T23:00:00.000000Z"),
        ("2025-01-15T00:30:00.123456Z", 86400, "2025-01-14T00:30:00.123456Z"),
    ],
)
def test_reread_since(watermark: str | None, overlap: int, expected: str | None) -> None:
    assert mat.reread_since(watermark, overlap) == expected


@pytest.mark.parametrize(
    ("overlap", "late_by_seconds", "picked_up"),
    [
        (3600, 600, True),  # stamped 10 min before the watermark, committed after the run: re-read
        (0, 600, False),  # without the overlap it is missed (the finding)
        (3600, 7200, False),  # beyond the window: the loader's contract (infra/sql/README.md) forbids it
    ],
)
def test_watermark_rereads_overlap_window_for_late_commits(
    tmp_path: Path, overlap: int, late_by_seconds: int, picked_up: bool
) -> None:
    """Through the real SQLite Gold reader: a row stamped before the watermark but committed after a run read
    it is materialized by the next run when within the overlap window."""
    gold_path = tmp_path / "gold.sqlite"
    import_files(gold_path, [FIXTURE])
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    watermark = "2025-01-15T03:00:00.000000Z"
    with sqlite3.connect(gold_path) as conn:  # 2024-03-31 loaded 3 h before 2024-10-27, the newest load
        conn.execute("UPDATE FACT_ENERGY_FLOW SET loaded_at = '2025-01-15T00:00:00.000000Z'")
        conn.execute(
            "UPDATE FACT_ENERGY_FLOW SET loaded_at = ? "
            "WHERE id_date IN (SELECT id_date FROM DIM_TIME WHERE date_locale = '2024-10-27')",
            (watermark,),
        )
    gold = gold_reader(Settings(GOLD_SQLITE_PATH=gold_path))
    docs, files = MemoryDocuments(), MemoryFiles()
    assert run_at(at("00:00"), gold, docs, files, overlap_seconds=overlap)["watermark"] == watermark  # type: ignore[arg-type]
    before = docs.get("32", "32:2024-03-31")
    assert before is not None
    late = datetime.strptime(watermark, stamp) - timedelta(seconds=late_by_seconds)
    with sqlite3.connect(gold_path) as conn:  # the late commit: new values, stamped before the watermark
        conn.execute(
            "UPDATE FACT_ENERGY_FLOW SET valeur_mw = valeur_mw + 1000, loaded_at = ? WHERE id_source = ? "
            "AND id_date IN (SELECT id_date FROM DIM_TIME WHERE date_locale = '2024-03-31')",
            (late.strftime(stamp), SOURCE_IDS["consommation"]),
        )
    second = run_at(at("00:15"), gold, docs, files, overlap_seconds=overlap)  # type: ignore[arg-type]
    after = docs.get("32", "32:2024-03-31")
    assert after is not None
    assert (after["content_hash"] != before["content_hash"]) is picked_up
    assert second["watermark"] == watermark  # the overlap never moves the watermark back
