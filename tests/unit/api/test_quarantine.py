"""GET /v1/admin/quarantine: the per-region-month records as the API shows them."""

from __future__ import annotations

from api.quarantine import quarantine_report
from api.schemas import QuarantineReport
from domain.ports import SYSTEM_PARTITION
from domain.quarantine import QuarantinedDay, RetryPolicy, updated_month_record
from tests.support.fakes import CountingDocuments, MemoryDocuments

NOW = "2026-11-30T20:00:00+00:00"


def record(region: str, month: str, **kwargs: object) -> dict[str, object]:
    args: dict[str, object] = {"attempted": [], "quarantined": [], "error": None, "loaded_at": "L", **kwargs}
    return updated_month_record(
        None, region=region, month=month, now=NOW, retry_from=NOW, instance_id="materialize-incremental",
        policy=RetryPolicy(), system_partition=SYSTEM_PARTITION, **args,  # type: ignore[arg-type]
    )  # fmt: skip


def test_without_a_record_nothing_is_quarantined() -> None:
    body = quarantine_report(MemoryDocuments())
    QuarantineReport.model_validate(body)
    assert body == {
        "updated_at": None, "count": 0, "unknown_regions": [], "unknown_sources": [], "days": [], "months": [],
    }  # fmt: skip


def test_the_records_are_listed_by_one_range_query_without_store_fields() -> None:
    docs = CountingDocuments()
    unknown = QuarantinedDay(region_code="11", date="2024-04-02", unknown_region=False, unknown_sources=["hydrogene"])
    docs.upsert({**record("11", "2024-04", attempted=["2024-04-02"], quarantined=[unknown]), "_etag": "x"})
    docs.upsert(record("93", "2024-03", attempted=["2024-03-31"], error="ValueError: 'n/a'"))
    docs.upsert(record("84", "2024-01", attempted=["2024-01-01"]))  # cleared: not shown
    docs.upsert({"id": "quarantine", "region_code": SYSTEM_PARTITION, "doc_type": "quarantine", "key": "quarantine",
                 "days": []})  # the single record of before, emptied  # fmt: skip
    body = quarantine_report(docs)
    QuarantineReport.model_validate(body)
    assert docs.gets == 0 and docs.ranges == [(SYSTEM_PARTITION, "quarantine")]
    assert body["count"] == 2 and body["unknown_sources"] == ["hydrogene"] and body["unknown_regions"] == []
    assert body["days"][0] == {
        "region_code": "11",
        "date": "2024-04-02",
        "unknown_region": False,
        "unknown_sources": ["hydrogene"],
        "failed": False,
        "first_seen": NOW,
        "last_seen": NOW,
        "instance_id": "materialize-incremental",
    }
    assert [(m["region_code"], m["month"], m["failures"], m["error"]) for m in body["months"]] == [
        ("11", "2024-04", 1, None),
        ("93", "2024-03", 1, "ValueError: 'n/a'"),
    ]
    assert body["days"][1]["failed"] is True and "_etag" not in str(body)
