"""What the carbon steps of a run cover: the France (FR) batches (the months and days any region's batch
touched) and the areas to forecast. Pure and light (no numpy), so that the orchestrator can call it
deterministically between its waves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.planning import Batch
from domain.regions import AREAS, NATIONAL, REGIONS_BY_CODE


def national_batches(results: Iterable[Mapping[str, Any]]) -> list[Batch]:
    """FR batches, one per month, of every day a regional batch of this run attempted (written or not: an
    unchanged FR day is skipped by its content hash), in month order. Results of FR batches are ignored."""
    days_by_month: dict[str, set[str]] = {}
    for result in results:
        if result.get("region_code") not in REGIONS_BY_CODE:
            continue
        for day in result.get("attempted_days") or []:
            days_by_month.setdefault(day[:7], set()).add(day)
    return [
        Batch(region_code=NATIONAL.code, month=month, days=sorted(days))
        for month, days in sorted(days_by_month.items())
    ]


def forecast_areas(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """The areas (regions and FR) whose days a run's batches built, in AREAS order: their forecasts are issued
    again after the commit."""
    touched = {r.get("region_code") for r in results if r.get("days")}
    return [a.code for a in AREAS if a.code in touched]
