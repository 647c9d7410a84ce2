from __future__ import annotations

import pytest

from domain.planning import chunks, group_partitions


def test_groups_days_by_region_and_month_in_stable_order() -> None:
    partitions = [
        ("93", "2024-02-01", "t2"),
        ("11", "2024-01-31", "t1"),
        ("11", "2024-01-01", "t1"),
        ("11", "2024-02-29", "t3"),
        ("11", "2024-01-01", "t9"),  # the same day twice (two loads) is one day
    ]
    assert group_partitions(partitions) == [
        {"region_code": "11", "month": "2024-01", "days": ["2024-01-01", "2024-01-31"]},
        {"region_code": "11", "month": "2024-02", "days": ["2024-02-29"]},
        {"region_code": "93", "month": "2024-02", "days": ["2024-02-01"]},
    ]


def test_no_partitions_no_batches() -> None:
    assert group_partitions([]) == []


@pytest.mark.parametrize(("n", "size", "sizes"), [(0, 3, []), (3, 3, [3]), (7, 3, [3, 3, 1]), (2, 5, [2])])
def test_chunks_are_bounded_and_keep_order(n: int, size: int, sizes: list[int]) -> None:
    items = [{"region_code": str(i), "month": "2024-01", "days": []} for i in range(n)]
    waves = chunks(items, size)  # type: ignore[arg-type]
    assert [len(w) for w in waves] == sizes
    assert [b for w in waves for b in w] == items
