"""The forecast step of the materialization: per region and FR, a 48 h forecast document from its stored days.

After a run's commit, each area whose days the run touched gets `forecast:{code}` (in its own partition)
rebuilt from the day documents of its last `HISTORY_DAYS` materialized days (the catalog's `last_day` back;
fewer when fewer exist): enough for the climatology's months and for the rolling-origin backtest that picks
the model per horizon band (domain.forecast). Variables: carbon intensity, consumption, and each production
source the area reports. The issue starts at the end of the known data (trailing nulls are not data), so a
stale upstream gives an honest, older origin, never a forecast that pretends to start now.

No weather or other exogenous input exists here: the models read only the series' own history (their port
for one, domain.forecast.ExogenousInputs, gets the no-input adapter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final

import numpy as np

from domain import forecast as fc
from domain.hashing import with_content_hash
from domain.naming import CATALOG_DOC_ID
from domain.ports import SYSTEM_PARTITION, Document, DocumentStore
from domain.regions import AREAS_BY_CODE
from domain.series_cache import CARBON, Block, blocks_of_days, grid_columns, read_blocks
from domain.sources import METHODOLOGY_VERSION, PRODUCTION_SOURCES

HISTORY_DAYS: Final[int] = 365
FORECAST_DOC_PREFIX: Final[str] = "forecast:"
UNITS: Final[dict[str, str]] = {CARBON: "gCO2eq/kWh", "consumption_mw": "MW"} | {
    f"sources.{s}": "MW" for s in PRODUCTION_SOURCES
}
_MIN_SLOTS: Final[int] = fc.MIN_HISTORY_SLOTS + fc.HORIZON_SLOTS


def forecast_doc_id(region_code: str) -> str:
    return f"{FORECAST_DOC_PREFIX}{region_code}"


def series_of_blocks(blocks: Sequence[Block]) -> dict[str, fc.HalfHourSeries]:
    """Each variable with at least one value, on the UTC half-hour grid."""
    start, columns = grid_columns(blocks)
    return {name: fc.HalfHourSeries(start, c) for name, c in columns.items() if np.isfinite(c).any()}


def series_of(day_docs: Sequence[Document]) -> dict[str, fc.HalfHourSeries]:
    """`series_of_blocks` of stored day documents."""
    return series_of_blocks(blocks_of_days(day_docs))


def forecast_for(region_code: str, day_docs: Sequence[Document], issued_at: str) -> Document | None:
    """The forecast document of an area from its day documents; None when the history is too short to
    backtest (one week plus the 48 h horizon) or holds no carbon intensity."""
    dates = sorted(d["date"] for d in day_docs)
    history = {"first_day": dates[0], "last_day": dates[-1], "days": len(dates)} if dates else {}
    return forecast_of_series(region_code, series_of(day_docs), history, issued_at)


def forecast_of_series(
    region_code: str, series: Mapping[str, fc.HalfHourSeries], history: Mapping[str, Any], issued_at: str
) -> Document | None:
    """`forecast_for` of the variables' series; `history` says which days they hold."""
    if CARBON not in series or len(series[CARBON].values) < _MIN_SLOTS:
        return None
    # Every variable issues from the carbon intensity's origin: trailing slots a variable lacks are its gap.
    end = int(np.flatnonzero(np.isfinite(series[CARBON].values))[-1]) + 1
    end_minute = series[CARBON].minute(end)
    forecasts = {}
    for name, values in series.items():
        cut = values.values[: (end_minute - values.start_minute) // fc.SLOT_MINUTES]
        if len(cut) < _MIN_SLOTS or not np.isfinite(cut[-1]):
            continue  # a variable whose last value is not at the origin would issue from elsewhere
        trimmed = fc.HalfHourSeries(values.start_minute, cut)
        selection = fc.select_model(trimmed, exogenous=fc.NoExogenousInputs())
        forecasts[name] = fc.issue_forecast(trimmed, selection, floor=0.0, exogenous=fc.NoExogenousInputs())
    if CARBON not in forecasts:
        return None
    document = fc.forecast_document(region_code, issued_at, forecasts, {n: UNITS[n] for n in forecasts})
    area = AREAS_BY_CODE[region_code]
    return with_content_hash(
        {
            "id": forecast_doc_id(region_code),
            "key": forecast_doc_id(region_code),
            "region_name": area.name,
            "history": dict(history),
            "exogenous_inputs": "none (no weather input is available; the models read only the series' history)",
            "methodology_version": METHODOLOGY_VERSION,
            **document,
        }
    )


def materialize_forecast(documents: DocumentStore, region_code: str, issued_at: str) -> dict[str, Any]:
    """Rebuild and write one area's forecast from its last HISTORY_DAYS materialized days (one range query)."""
    if region_code not in AREAS_BY_CODE:
        raise ValueError(f"unknown region code {region_code!r}")
    catalog = documents.get(SYSTEM_PARTITION, CATALOG_DOC_ID) or {}
    last = next((r.get("last_day") for r in catalog.get("regions", []) if r.get("code") == region_code), None)
    if not isinstance(last, str):
        return {"region_code": region_code, "written": False, "reason": "no materialized day"}
    first = (date.fromisoformat(last) - timedelta(days=HISTORY_DAYS - 1)).isoformat()
    # The month series where they are current (domain.series_cache), the day documents elsewhere.
    blocks, months_from_days = read_blocks(documents, region_code, first, last)
    days = [b.date for b in blocks]
    history = {"first_day": min(days), "last_day": max(days), "days": len(days)} if days else {}
    doc = forecast_of_series(region_code, series_of_blocks(blocks), history, issued_at)
    if doc is None:
        return {"region_code": region_code, "written": False, "reason": "history too short", "days": len(days)}
    documents.upsert(doc)
    return {
        "region_code": region_code,
        "written": True,
        "days": len(days),
        "months_from_days": months_from_days,
        "origin": doc["origin"],
    }
