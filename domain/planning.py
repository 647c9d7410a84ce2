"""Planning the materialization: which (region, month) batches to run for a set of changed days."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict


class Batch(TypedDict):
    """The unit of work of one activity: one region × one month, the days of it to materialize."""

    region_code: str
    month: str  # YYYY-MM
    days: list[str]  # YYYY-MM-DD, sorted


def group_partitions(partitions: Iterable[tuple[str, str, str]]) -> list[Batch]:
    """Group (region_code, local_day, loaded_at) partitions into region × month batches, in a stable order.

    One activity per region-month (not per day) keeps the fan-out a few hundred activities for a year of 12
    regions, and lets one Gold read serve a whole month.
    """
    days_by_batch: dict[tuple[str, str], set[str]] = {}
    for region_code, day, _loaded_at in partitions:
        days_by_batch.setdefault((region_code, day[:7]), set()).add(day)
    return [
        Batch(region_code=region, month=month, days=sorted(days))
        for (region, month), days in sorted(days_by_batch.items())
    ]


def chunks(items: list[Batch], size: int) -> list[list[Batch]]:
    """Consecutive slices of at most `size` items: the bounded waves of the fan-out."""
    return [items[i : i + size] for i in range(0, len(items), size)]
