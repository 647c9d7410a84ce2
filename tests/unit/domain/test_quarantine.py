"""Quarantine: splitting off the days with unknown sources, and the record across runs."""

from __future__ import annotations

from domain.gold_columns import GoldColumns
from domain.ports import SYSTEM_PARTITION
from domain.quarantine import QuarantinedDay, quarantined_partitions, split_unknown_sources, updated_record
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


def day(region: str, date: str, sources: list[str] | None = None) -> QuarantinedDay:
    return QuarantinedDay(region_code=region, date=date, unknown_region=sources is None, unknown_sources=sources or [])


def test_the_record_keeps_first_seen_drops_what_materialized_and_names_the_unknowns() -> None:
    first = updated_record(
        None,
        [("11", "2024-04-01"), ("11", "2024-04-02")],
        [day("11", "2024-04-01", ["hydrogene"]), day("99", "2024-04-01")],
        system_partition=SYSTEM_PARTITION,
        now="t1",
        instance_id="run-1",
    )
    assert first["unknown_regions"] == ["99"] and first["unknown_sources"] == ["hydrogene"] and first["count"] == 2
    # The next run: 11 materialized (fixed), 99 still unknown, a new day of 24 with another source.
    second = updated_record(
        first,
        [("11", "2024-04-01"), ("99", "2024-04-01"), ("24", "2024-05-01")],
        [day("99", "2024-04-01"), day("24", "2024-05-01", ["marees"])],
        system_partition=SYSTEM_PARTITION,
        now="t2",
        instance_id="run-2",
    )
    assert quarantined_partitions(second) == [("24", "2024-05-01"), ("99", "2024-04-01")]
    stuck = next(d for d in second["days"] if d["region_code"] == "99")
    assert (stuck["first_seen"], stuck["last_seen"], stuck["instance_id"]) == ("t1", "t2", "run-2")
    assert second["unknown_sources"] == ["marees"] and second["unknown_regions"] == ["99"]
    # A run that attempted nothing of the record leaves its days alone.
    third = updated_record(second, [], [], system_partition=SYSTEM_PARTITION, now="t3", instance_id="run-3")
    assert quarantined_partitions(third) == quarantined_partitions(second)
