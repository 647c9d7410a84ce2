"""GET /v1/admin/quarantine: the quarantine record as the API shows it."""

from __future__ import annotations

from api.quarantine import quarantine_report
from api.schemas import QuarantineReport
from domain.ports import SYSTEM_PARTITION
from domain.quarantine import QuarantinedDay, updated_record
from tests.support.fakes import MemoryDocuments


def test_without_a_record_nothing_is_quarantined() -> None:
    body = quarantine_report(MemoryDocuments())
    QuarantineReport.model_validate(body)
    assert body == {"updated_at": None, "count": 0, "unknown_regions": [], "unknown_sources": [], "days": []}


def test_the_record_is_shown_without_store_fields() -> None:
    docs = MemoryDocuments()
    days = [
        QuarantinedDay(region_code="11", date="2024-04-02", unknown_region=False, unknown_sources=["hydrogene"]),
        QuarantinedDay(region_code="99", date="2024-04-01", unknown_region=True, unknown_sources=[]),
    ]
    record = updated_record(None, [], days, system_partition=SYSTEM_PARTITION, now="2026-11-30T20:00:00+00:00",
                            instance_id="materialize-incremental")  # fmt: skip
    docs.upsert({**record, "_etag": "x"})
    body = quarantine_report(docs)
    QuarantineReport.model_validate(body)
    assert body["count"] == 2 and body["unknown_regions"] == ["99"] and body["unknown_sources"] == ["hydrogene"]
    assert body["days"][0] == {
        "region_code": "11",
        "date": "2024-04-02",
        "unknown_region": False,
        "unknown_sources": ["hydrogene"],
        "first_seen": "2026-11-30T20:00:00+00:00",
        "last_seen": "2026-11-30T20:00:00+00:00",
        "instance_id": "materialize-incremental",
    }
    assert "_etag" not in body
