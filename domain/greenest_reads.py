"""The greenest window over stored documents: measured half-hours of day documents for a past span, the forecast
document's half-hours for a future one (domain.greenest does the search). Pure Python, no numpy: HTTP serves it.

Basis: a span that ends at or before the forecast's origin (the end of the known data) is `measured`; one
that starts at or after it is `forecast`, with the expected error of the forecast (the backtest MAE of the
model chosen for each horizon band the span touches). A span across the origin is refused by the caller:
mixing a measured and a forecast half-hour in one mean would hide which is which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from domain.greenest import SLOT, GreenestWindows, Window
from domain.local_time import PARIS

CARBON: Final[str] = "carbon_intensity_g_per_kwh"
_DURATION: Final[re.Pattern[str]] = re.compile(r"P(?:(\d{1,3})D)?(?:T(?:(\d{1,4})H)?(?:(\d{1,6})M)?)?")


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of days, hours and minutes (`PT2H`, `PT90M`, `P1DT6H`); ValueError otherwise,
    and for one that is not a positive multiple of 30 minutes."""
    match = _DURATION.fullmatch(text)
    if match is None or text in {"P", "PT"} or text.endswith("T"):
        raise ValueError("must be an ISO 8601 duration such as PT2H or PT90M")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if duration <= timedelta(0) or duration % SLOT:
        raise ValueError("must be a positive multiple of 30 minutes")
    return duration


def instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC)


def measured_points(day_docs: Iterable[Mapping[str, Any]]) -> list[tuple[datetime, float | None]]:
    return [(instant(i["timestamp"]), i.get(CARBON)) for d in day_docs for i in d.get("intervals", [])]


def forecast_points(forecast: Mapping[str, Any]) -> list[tuple[datetime, float | None]]:
    return [(instant(i["timestamp"]), (i.get(CARBON) or {}).get("value")) for i in forecast.get("intervals", [])]


def local_days(start: datetime, end: datetime) -> tuple[str, str]:
    """First and last local (Europe/Paris) day that the span [start, end) touches."""
    return start.astimezone(PARIS).date().isoformat(), (end - timedelta(microseconds=1)).astimezone(
        PARIS
    ).date().isoformat()


def expected_error(forecast: Mapping[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    """The forecast's backtest MAE (gCO2eq/kWh) for each horizon band the span touches."""
    origin = instant(str(forecast["origin"]))
    minutes = int(forecast.get("interval_minutes", 30))
    first_step = int((start - origin) / timedelta(minutes=minutes)) + 1
    last_step = int((end - origin) / timedelta(minutes=minutes))
    bands = forecast.get("models", {}).get(CARBON, {}).get("bands", [])
    touched = [
        {
            "band": b["band"],
            "model_id": b["model_id"],
            "mae_g_per_kwh": b["mae"],
            "skill_vs_seasonal_naive": b.get("skill"),
        }
        for b in bands
        if b["first_step"] <= last_step and b["last_step"] >= first_step
    ]
    maes = [b["mae_g_per_kwh"] for b in touched if b["mae_g_per_kwh"] is not None]
    return {
        "issued_at": forecast.get("issued_at"),
        "origin": forecast.get("origin"),
        "mae_g_per_kwh": max(maes) if maes else None,  # the worst band the span touches
        "bands": touched,
    }


def _local(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat()


def _window(window: Window) -> dict[str, Any]:
    return {
        "start": _local(window.start),
        "end": _local(window.end),
        "mean_intensity_g_per_kwh": round(window.mean_intensity, 3),
        "saving_g_per_kwh": None if window.saving is None else round(window.saving, 3),
        "saving_pct": None if window.saving_pct is None else round(window.saving_pct, 2),
    }


def windows_body(found: GreenestWindows, points: Sequence[tuple[datetime, float | None]]) -> dict[str, Any]:
    inside = [v for t, v in points if found.span_start <= t < found.span_end]
    return {
        "span": {"start": _local(found.span_start), "end": _local(found.span_end)},
        "span_mean_intensity_g_per_kwh": None if found.span_mean is None else round(found.span_mean, 3),
        "half_hours": int((found.span_end - found.span_start) / SLOT),
        "half_hours_with_data": sum(v is not None for v in inside),
        "best": _window(found.best) if found.best is not None else None,
        "alternatives": [_window(w) for w in found.alternatives],
    }
