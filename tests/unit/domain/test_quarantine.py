"""Quarantine: splitting off the days with unknown sources, the per-region-month record and its back-off."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from domain.gold_columns import GoldColumns
from domain.ports import SYSTEM_PARTITION
from domain.quarantine import (
    MAX_DAY_ENTRIES,
    MAX_ERROR_CHARS,
    MAX_RECORD_BYTES,
    QuarantinedDay,
    RetryPolicy,
    error_type,
    failed_batch_result,
    is_due,
    split_unknown_sources,
    updated_month_record,
)
from tests.support.fakes import gold_day_rows


def test_only_the_days_with_an_unknown_source_are_split_off() -> None:
    rows = gold_day_rows("2024-04-01", {"eolien": 1.0}) + gold_day_rows("2024-04-02", {"eolien": 2.0})
    rows += [r._replace(source_name="hydrogene") for r in rows[:3]]  # three facts of 2024-04-01
    rows += [rows[-4]._replace(source_name="marees")]  # one of 2024-04-02
    clean = gold_day_rows("2024-04-03", {"eolien": 3.0})
    kept, unknown = split_unknown_sources(GoldColumns.from_rows(rows + clean))
    assert unknown == {"2024-04-01": ["hydrogene"], "2024-04-02": ["marees"]}
    assert kept.as_lists() == GoldColumns.from_rows(clean).as_lists()


def test_nothing_is_split_when_every_source_is_known() -> None:
    columns = GoldColumns.from_rows(gold_day_rows("2024-04-01", {"eolien": 1.0, "consommation": 5.0}))
    kept, unknown = split_unknown_sources(columns)
    assert unknown == {} and kept is columns


# --- back-off -------------------------------------------------------------------------------------------

POLICY = RetryPolicy(base_seconds=900, max_seconds=86_400, set_aside_after=3)


@pytest.mark.parametrize(
    ("failures", "delay", "set_aside"),
    [
        (1, 0, False),  # soft: the next run retries it
        (2, 0, False),
        (3, 3_600, True),  # set aside: base x 2^(n-1)
        (4, 7_200, True),
        (7, 57_600, True),
        (8, 86_400, True),  # capped
        (60, 86_400, True),
    ],
)
def test_back_off_schedule(failures: int, delay: int, set_aside: bool) -> None:
    assert POLICY.delay_seconds(failures) == delay and POLICY.set_aside(failures) is set_aside


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Activity function 'materialize_batch' failed: ValueError: could not convert to float: 'n/a'", "ValueError"),
        ("Result: Failure Exception: StoreUnavailable: gold: SQLSTATE HYT00", "StoreUnavailable"),
        ("something odd", "Error"),
        ("", None),
    ],
)  # fmt: skip
def test_error_type_names_the_exception_class_only(text: str, expected: str | None) -> None:
    assert error_type(text) == expected


# --- the record -----------------------------------------------------------------------------------------


def unknown(day: str, sources: list[str]) -> QuarantinedDay:
    return QuarantinedDay(region_code="93", date=day, unknown_region=False, unknown_sources=sources)


def update(existing: dict[str, Any] | None, now: str, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"attempted": [], "quarantined": [], "error": None, "loaded_at": "L1", **kwargs}
    return updated_month_record(
        existing, region="93", month="2024-03", now=now, retry_from=now, instance_id="run",
        policy=POLICY, system_partition=SYSTEM_PARTITION, **args,
    )  # fmt: skip


T = [f"2026-01-01T{h:02d}:00:00+00:00" for h in range(24)]


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        # (attempted days, unknown-source days, error) per run -> (days, failures, next retry, set aside) after
        ([(["2024-03-01"], [], "ValueError: x")], (["2024-03-01"], 1, T[0], False)),
        ([(["2024-03-01"], [], "E"), (["2024-03-01"], [], "E")], (["2024-03-01"], 2, T[1], False)),
        ([(["2024-03-01"], [], "E")] * 3, (["2024-03-01"], 3, "2026-01-01T03:00:00+00:00", True)),
        ([(["2024-03-01"], [], "E")] * 3 + [(["2024-03-01"], [], None)], ([], 0, None, False)),  # materialized
        # A run of another day of the month, fine, leaves the set-aside day and its count as they were.
        ([(["2024-03-01"], [], "E"), (["2024-03-20"], [], None)], (["2024-03-01"], 1, T[0], False)),
        ([(["2024-03-02", "2024-03-03"], ["2024-03-03"], None)], (["2024-03-03"], 1, T[0], False)),
    ],
)
def test_record_update(runs: list[tuple[list[str], list[str], str | None]], expected: tuple[Any, ...]) -> None:
    record = None
    for hour, (attempted, quarantined, error) in enumerate(runs):
        record = update(record, T[hour], attempted=attempted, quarantined=[unknown(d, ["x"]) for d in quarantined],
                        error=error)  # fmt: skip
    assert record is not None
    assert ([d["date"] for d in record["days"]], record["failures"], record["next_retry_at"], record["set_aside"]) == (
        expected
    )


def test_quarantine_record_is_per_region_month_and_bounded() -> None:
    """One record per region-month, keyed for a range query of the system partition; at most one entry per
    day of its month, a bounded error and bounded names: a few KiB whatever Gold holds."""
    days = [f"2024-03-{d:02d}" for d in range(1, 32)]
    names = [f"source_{i:03d}_{'x' * 60}" for i in range(100)]  # many long names Gold may hold
    record = update(None, T[0], attempted=[*days, "2024-04-01"], error="E" * 10_000,
                    quarantined=[unknown(d, names) for d in days])  # fmt: skip
    assert (record["id"], record["key"], record["region_code"]) == (
        "quarantine:93:2024-03",
        "93:2024-03",
        SYSTEM_PARTITION,
    )
    assert len(record["days"]) == MAX_DAY_ENTRIES and all(d["date"].startswith("2024-03") for d in record["days"])
    assert len(record["error"]) <= MAX_ERROR_CHARS
    assert len(orjson.dumps(record)) < MAX_RECORD_BYTES  # the stated bound
    first = record["days"][0]["first_seen"]
    again = update(record, T[1], attempted=days, error="E")
    assert again["days"][0]["first_seen"] == first == T[0] and again["days"][0]["last_seen"] == T[1]


def test_a_failed_batch_result_sets_every_day_aside_with_a_truncated_error() -> None:
    batch = {"region_code": "93", "month": "2024-03", "days": ["2024-03-02", "2024-03-01"], "loaded_at": "L9"}
    result = failed_batch_result(batch, "ValueError:   " + "x" * 5_000)
    assert result["attempted_days"] == ["2024-03-01", "2024-03-02"] and result["days_written"] == 0
    assert result["loaded_at"] == "L9" and len(result["error"]) <= MAX_ERROR_CHARS
    assert result["error"].startswith("ValueError: x")


@pytest.mark.parametrize(
    ("next_retry_at", "now", "due"),
    [(None, T[0], True), (T[1], T[0], False), (T[1], T[1], True), ("2026-01-01T01:00:00Z", T[2], True)],
)
def test_is_due(next_retry_at: str | None, now: str, due: bool) -> None:
    assert is_due({"next_retry_at": next_retry_at}, now) is due
