"""Factories of the API unit tests: documents that validate against domain.models, requests, stores (their
fixtures are in tests/unit/api/conftest.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import azure.functions as func

from api.http import Reply, RequestContext, Route, respond_async
from domain.models import DayDocument, MonthDocument
from domain.naming import CATALOG_DOC_ID, day_doc_id, month_doc_id
from domain.regions import REGIONS, REGIONS_BY_CODE
from domain.sources import EMISSION_FACTORS_G_PER_KWH, METHODOLOGY_VERSION, PRODUCTION_SOURCES
from stores.ports import SYSTEM_PARTITION
from stores.reads_local import LocalDocumentReads, LocalFileReads
from tests.support.fakes import MemoryDocuments

PARIS = ZoneInfo("Europe/Paris")
READER_KEY = "reader-secret-key"
OPERATOR_KEY = "operator-secret-key"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _hash(doc: dict[str, Any]) -> str:
    return _sha(json.dumps({k: v for k, v in doc.items() if k != "content_hash"}, sort_keys=True))


def local_starts(day: str, minutes: int) -> list[datetime]:
    """Local starts of each interval of `day` (46/50 half-hours on DST days), with their offsets."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), PARIS).astimezone(UTC)
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    out, t = [], start
    while t < end:
        out.append(t.astimezone(PARIS))
        t += timedelta(minutes=minutes)
    return out


def _interval(ts: datetime, mw: dict[str, float | None], consumption: float | None) -> dict[str, Any]:
    production = [v for s, v in mw.items() if s in PRODUCTION_SOURCES and v is not None]
    total = sum(production) if production else None
    weighted = sum(v * EMISSION_FACTORS_G_PER_KWH[s] for s, v in mw.items() if s in PRODUCTION_SOURCES and v)
    return {
        "timestamp": ts.isoformat(),
        "production_mw": total,
        "consumption_mw": consumption,
        "sources": dict(mw),
        "facteur_charge": {s: (50.0 if v is not None else None) for s, v in mw.items() if s in PRODUCTION_SOURCES},
        "carbon_intensity_g_per_kwh": (weighted / total) if total else None,
    }


def default_mw(region_code: str) -> dict[str, float | None]:
    mw: dict[str, float | None] = {"thermique": 100.0, "hydraulique": 200.0, "eolien": 50.0, "solaire": None}
    if REGIONS_BY_CODE[region_code].has_nuclear:
        mw["nucleaire"] = 1000.0
    return mw


def make_day_doc(
    region_code: str,
    day: str,
    *,
    final: bool = True,
    mw: dict[str, float | None] | None = None,
    consumption: float | None = 900.0,
) -> dict[str, Any]:
    """A day document of constant power per source; validated against DayDocument."""
    mw = mw if mw is not None else default_mw(region_code)
    halves = [_interval(t, mw, consumption) for t in local_starts(day, 30)]
    hours = [_interval(t, mw, consumption) for t in local_starts(day, 60)]
    n = len(halves)
    energy = {s: (v * n / 2 if v is not None else None) for s, v in mw.items()}
    production = halves[0]["production_mw"]
    doc = {
        "id": day_doc_id(region_code, day),
        "doc_type": "day",
        "key": day,
        "region_code": region_code,
        "region_name": REGIONS_BY_CODE[region_code].name,
        "date": day,
        "interval_count": n,
        "intervals_with_data": n,
        "intervals": halves,
        "hourly": hours,
        "totals": {
            "energy_mwh": energy,
            "production_mwh": production * n / 2 if production is not None else None,
            "consumption_mwh": consumption * n / 2 if consumption is not None else None,
            "production_mw_avg": production,
            "production_mw_peak": production,
            "consumption_mw_avg": consumption,
            "consumption_mw_peak": consumption,
            "facteur_charge_avg": halves[0]["facteur_charge"],
            "carbon_intensity_g_per_kwh": halves[0]["carbon_intensity_g_per_kwh"],
            "emissions_tco2eq": None,
        },
        "nature": "Données définitives" if final else "Données temps réel",
        "final": final,
        "source_loaded_at": "2025-01-15T00:00:00.000000Z",
        "methodology_version": METHODOLOGY_VERSION,
        "content_hash": "",
    }
    doc["content_hash"] = _hash(doc)
    return DayDocument.model_validate(doc).model_dump(mode="json")


def make_month_doc(region_code: str, day_docs: list[dict[str, Any]]) -> dict[str, Any]:
    month = day_docs[0]["date"][:7]
    doc = {
        "id": month_doc_id(region_code, month),
        "doc_type": "month",
        "key": month,
        "region_code": region_code,
        "region_name": REGIONS_BY_CODE[region_code].name,
        "month": month,
        "days": [
            {
                "date": d["date"],
                "timestamp": d["intervals"][0]["timestamp"],
                "interval_count": d["interval_count"],
                "totals": d["totals"],
                "final": d["final"],
            }
            for d in day_docs
        ],
        "energy_mwh": {},
        "production_mwh": None,
        "consumption_mwh": None,
        "carbon_intensity_g_per_kwh": None,
        "final": all(d["final"] for d in day_docs),
        "source_loaded_at": "2025-01-15T00:00:00.000000Z",
        "methodology_version": METHODOLOGY_VERSION,
        "content_hash": "",
    }
    doc["content_hash"] = _hash(doc)
    return MonthDocument.model_validate(doc).model_dump(mode="json")


def month_days(month: str) -> list[str]:
    first = date.fromisoformat(f"{month}-01")
    days, d = [], first
    while d.month == first.month:
        days.append(d.isoformat())
        d += timedelta(days=1)
    return days


@cache
def _region_month_docs(code: str, month: str) -> tuple[dict[str, Any], ...]:
    """Built once per test session (the store copies what it is given)."""
    docs = [make_day_doc(code, d) for d in month_days(month)]
    return (*docs, make_month_doc(code, docs))


def seed(documents: MemoryDocuments, region_codes: list[str], months: list[str]) -> None:
    """Day and month documents for every day of `months`, and the catalog of what was seeded."""
    for code in region_codes:
        for month in months:
            for doc in _region_month_docs(code, month):
                documents.upsert(doc)
    days = [d for m in months for d in month_days(m)]
    documents.upsert(
        {
            "id": CATALOG_DOC_ID,
            "region_code": SYSTEM_PARTITION,
            "doc_type": "catalog",
            "key": CATALOG_DOC_ID,
            "regions": [
                {
                    "code": r.code,
                    "name": r.name,
                    "first_day": min(days) if r.code in region_codes else None,
                    "last_day": max(days) if r.code in region_codes else None,
                }
                for r in REGIONS
            ],
        }
    )


@dataclass
class FakeStores:
    """What `ctx.stores` gives a handler: the sync stores, and their async reads (which answer at once)."""

    documents: Any
    files: Any
    gold: Any = None

    @property
    def document_reads(self) -> LocalDocumentReads:
        return LocalDocumentReads(self.documents)

    @property
    def file_reads(self) -> LocalFileReads:
        return LocalFileReads(self.files)


MakeRequest = Callable[..., func.HttpRequest]


def respond_now(
    req: func.HttpRequest, route: Route, handler: Callable[[RequestContext], Awaitable[Reply]], settings: Any = None
) -> func.HttpResponse:
    """An async handler inside the envelope, run to its answer on a loop of its own (as its trigger would be)."""
    return asyncio.run(respond_async(req, route, handler, settings))
