"""In-memory fakes of the ports, for unit tests of code that receives its stores as parameters."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from domain.gold_columns import GoldColumns
from domain.local_time import PARIS
from domain.models import GoldRow
from domain.ports import RenderedDocument


class MemoryDocuments:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.upserts = 0

    def upsert(self, doc: dict[str, Any]) -> None:
        self.upserts += 1
        key = (doc["region_code"], doc["id"])
        self.docs[key] = copy.deepcopy(doc)
        self.versions[key] = self.versions.get(key, 0) + 1

    def get_versioned(self, region_code: str, doc_id: str) -> tuple[dict[str, Any] | None, str | None]:
        key = (region_code, doc_id)
        return (copy.deepcopy(self.docs[key]), str(self.versions[key])) if key in self.docs else (None, None)

    def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
        key = (doc["region_code"], doc["id"])
        current = str(self.versions[key]) if key in self.docs else None
        if current != version:
            return False
        self.upsert(doc)  # through a subclass's upsert: fakes that fail writes fail these too
        return True

    def get(self, region_code: str, doc_id: str) -> dict[str, Any] | None:
        doc = self.docs.get((region_code, doc_id))
        return copy.deepcopy(doc) if doc else None

    def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        doc = self.docs.get((region_code, doc_id))
        if doc is None:
            return None
        return RenderedDocument(orjson.dumps(doc), None, doc.get("content_hash"), doc.get("final") is True)

    def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[dict[str, Any]]:
        found = [
            d
            for (region, _), d in self.docs.items()
            if region == region_code and d.get("doc_type") == doc_type and first_key <= d.get("key", "") <= last_key
        ]
        return copy.deepcopy(sorted(found, key=lambda d: d["key"]))

    def range_hashes(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[tuple[str, str]]:
        found = MemoryDocuments.query_range(self, region_code, doc_type, first_key, last_key)  # not an override
        return [(d["id"], d.get("content_hash", "")) for d in found]

    def content_hashes(self, region_code: str, doc_ids: list[str]) -> dict[str, str]:
        return {i: self.docs[(region_code, i)]["content_hash"] for i in doc_ids if (region_code, i) in self.docs}

    def ping(self) -> None:
        return None


class CountingDocuments(MemoryDocuments):
    """Counts the reads that return bodies (point reads and range queries), to show which path a read takes."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.ranges: list[tuple[str, str]] = []

    def get(self, region_code: str, doc_id: str) -> dict[str, Any] | None:
        self.gets += 1
        return super().get(region_code, doc_id)

    def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[dict[str, Any]]:
        self.ranges.append((region_code, doc_type))
        return super().query_range(region_code, doc_type, first_key, last_key)


class MemoryFiles:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.writes = 0
        self.bytes_read = 0  # by read and read_head: what a caller pulls from the store

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        if self.files.get(name, (None, ""))[0] == data:
            return False
        self.writes += 1
        self.files[name] = (data, content_type)
        return True

    def exists(self, name: str) -> bool:
        return name in self.files

    def read(self, name: str) -> bytes | None:
        data = self.files[name][0] if name in self.files else None
        self.bytes_read += len(data or b"")
        return data

    def read_head(self, name: str, size: int) -> bytes | None:
        if size < 1:
            raise ValueError("a head read needs size >= 1")
        data = self.files[name][0][:size] if name in self.files else None
        self.bytes_read += len(data or b"")
        return data

    def signed_url(self, name: str, ttl_seconds: int, download_name: str) -> str:
        return f"memory://{name}?ttl={ttl_seconds}&filename={download_name}"

    def ping(self) -> None:
        return None


class MemoryGold:
    """Gold rows held in a list; the reader queries of stores.gold.GoldReader, computed in Python."""

    def __init__(self, rows: dict[str, list[GoldRow]]) -> None:
        self.rows = rows  # by region code

    def changed_partitions(self, since: str | None) -> list[tuple[str, str, str]]:
        latest: dict[tuple[str, str], str] = {}
        for region, rows in self.rows.items():
            for r in rows:
                if since is None or r.loaded_at > since:
                    key = (region, r.date_locale)
                    latest[key] = max(latest.get(key, ""), r.loaded_at)
        return sorted((region, day, loaded) for (region, day), loaded in latest.items())

    def partitions_in_range(
        self, first_day: str, last_day: str, region_codes: list[str] | None
    ) -> list[tuple[str, str, str]]:
        return [
            p
            for p in self.changed_partitions(None)
            if first_day <= p[1] <= last_day and (region_codes is None or p[0] in region_codes)
        ]

    def region_rows(self, region_code: str, first_day: str, last_day: str) -> list[GoldRow]:
        return [r for r in self.rows.get(region_code, []) if first_day <= r.date_locale <= last_day]

    def region_columns(self, region_code: str, first_day: str, last_day: str) -> GoldColumns:
        return GoldColumns.from_rows(self.region_rows(region_code, first_day, last_day))


def gold_day_rows(
    day: str,
    values: dict[str, float | None],
    *,
    loaded_at: str = "2025-01-15T00:00:00.000000Z",
    nature: str = "Données définitives",
) -> list[GoldRow]:
    """Rows for every half-hour of local `day` with a constant MW per source (None = a NULL value)."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), PARIS).astimezone(UTC)
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    rows: list[GoldRow] = []
    t = start
    while t < end:
        for source, mw in sorted(values.items()):
            rows.append(GoldRow(t.strftime("%Y-%m-%dT%H:%M:%SZ"), day, source, mw, None, loaded_at, nature))
        t += timedelta(minutes=30)
    return rows
