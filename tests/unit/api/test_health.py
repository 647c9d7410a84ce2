"""GET /v1/health: 200 when every serving store answers, 503 naming the one that does not; bounded pings; lag."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api import health
from api.health import DEFAULT_STALE_AFTER_SECONDS, PingSlots, check_health, freshness_check, materialization_lag
from api.http import respond
from api.schemas import Health, PublicHealth
from core.settings import Settings
from domain.intensity_now import INTENSITY_NOW_DOC_ID
from domain.naming import WATERMARK_DOC_ID
from stores.ports import SYSTEM_PARTITION
from tests.support.api_documents import OPERATOR_KEY, READER_KEY, FakeStores, MakeRequest
from tests.support.fakes import CountingDocuments, MemoryDocuments, MemoryFiles


class Broken:
    def ping(self) -> None:
        raise ConnectionError("https://secret-endpoint:443 refused")


class Hanging:
    """A store whose ping blocks until released; it counts the pings it received."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        self.release.wait(10)

    def get(self, partition: str, doc_id: str) -> Any:
        return None


def test_healthy() -> None:
    status, body = check_health(MemoryDocuments(), MemoryFiles(), {"documents": "embedded", "files": "embedded"})
    assert status == 200 and body["status"] == "ok"
    assert {k: v["status"] for k, v in body["stores"].items()} == {"documents": "ok", "files": "ok"}


@pytest.mark.parametrize(
    ("documents", "files", "down"), [(Broken(), MemoryFiles(), "documents"), (MemoryDocuments(), Broken(), "files")]
)
def test_a_failing_store_gives_503_without_its_message(documents: object, files: object, down: str) -> None:
    status, body = check_health(documents, files, {}, PingSlots())  # type: ignore[arg-type]
    assert status == 503 and body["status"] == "degraded"
    assert body["stores"][down] == {**body["stores"][down], "status": "unavailable", "error": "ConnectionError"}
    assert "secret-endpoint" not in str(body)


def test_a_hanging_store_gets_one_ping_in_flight_never_a_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "PING_TIMEOUT_SECONDS", 0.05)
    store, slots = Hanging(), PingSlots()
    errors = []
    for _ in range(5):
        status, body = check_health(store, MemoryFiles(), {}, slots)
        assert status == 503 and body["stores"]["files"]["status"] == "ok"
        errors.append(body["stores"]["documents"]["error"])
    assert store.pings == 1 and slots.in_flight() == 1
    assert "no answer within" in errors[0] and all("has been running" in e for e in errors[1:])
    store.release.set()
    for _ in range(100):  # the abandoned ping ends on its own once the store answers
        if slots.in_flight() == 0:
            break
        threading.Event().wait(0.01)
    assert slots.in_flight() == 0
    status, _ = check_health(store, MemoryFiles(), {}, slots)
    assert status == 200 and store.pings == 2


def test_concurrent_checks_share_the_ping_in_flight() -> None:
    store, slots = Hanging(), PingSlots()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(check_health(store, MemoryFiles(), {}, slots)[0]))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    store.release.set()
    for thread in threads:
        thread.join(10)
    assert store.pings <= len(threads) and results.count(200) == len(threads)


def test_health_shows_the_age_of_the_watermark() -> None:
    documents = MemoryDocuments()
    documents.upsert(
        {
            "id": WATERMARK_DOC_ID,
            "region_code": SYSTEM_PARTITION,
            "doc_type": "watermark",
            "key": WATERMARK_DOC_ID,
            "value": "2025-01-15T00:00:00.000000Z",
        }
    )
    now = datetime(2025, 1, 15, 0, 2, 30, tzinfo=UTC)
    _, body = check_health(documents, MemoryFiles(), {}, PingSlots(), now=now)
    assert body["materialization"] == {"watermark": "2025-01-15T00:00:00.000000Z", "lag_seconds": 150.0}


@pytest.mark.parametrize("doc", [None, {}, {"value": None}, {"value": "not a time"}])
def test_no_watermark_gives_null_lag(doc: Any) -> None:
    assert materialization_lag(doc, datetime.now(UTC)) == {"watermark": None, "lag_seconds": None}


# --- checks.materialization (issue 22) ------------------------------------------------------------------


def _health_of(docs: MemoryDocuments) -> tuple[int, dict[str, Any]]:
    return check_health(docs, MemoryFiles(), {}, PingSlots())


def test_health_degraded_after_two_failed_runs() -> None:
    from domain.materialization import record_run

    docs = CountingDocuments()
    bodies = []
    for n in range(3):
        record_run(docs, "incremental", failed_error="Activity function 'plan_materialization' failed: "
                   "OperationalError: https://secret-endpoint database is locked", now=f"2026-01-01T0{n}:00:00+00:00",
                   instance_id="materialize-incremental")  # fmt: skip
        docs.gets = 0
        status, body = _health_of(docs)
        assert status == 200 and docs.gets == 3  # the watermark, the runs and the intensity-now documents
        Health.model_validate(body)
        bodies.append(body)
    assert [b["status"] for b in bodies] == ["ok", "degraded", "degraded"]  # once may be a blip
    check = bodies[1]["checks"]["materialization"]
    assert check["consecutive_failures"] == 2 and check["last_error"] == "run failed: OperationalError"
    assert check["last_run"]["status"] == "failed" and "secret-endpoint" not in str(bodies)
    # A completed incremental run resets the count; a completed backfill would not.
    record_run(docs, "backfill", failed_error=None, now="2026-01-01T04:00:00+00:00", instance_id="backfill-1")
    assert _health_of(docs)[1]["checks"]["materialization"]["consecutive_failures"] == 3
    record_run(docs, "incremental", failed_error=None, now="2026-01-01T05:00:00+00:00", instance_id="i")
    assert _health_of(docs)[1]["status"] == "ok"


def test_health_degraded_while_a_region_month_is_quarantined() -> None:
    from domain.materialization import record_run
    from domain.quarantine import RetryPolicy, updated_month_record

    docs = MemoryDocuments()
    docs.upsert(updated_month_record(
        None, region="93", month="2024-03", attempted=["2024-03-31"], quarantined=[], error="ValueError: 'n/a'",
        loaded_at="L", now="t", retry_from="2026-01-01T00:00:00+00:00", instance_id="i", policy=RetryPolicy(),
        system_partition=SYSTEM_PARTITION,
    ))  # fmt: skip
    record_run(docs, "incremental", failed_error=None, now="2026-01-01T00:00:00+00:00", instance_id="i")
    status, body = _health_of(docs)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["materialization"] == {
        "status": "degraded",
        "quarantined_region_months": 1,
        "quarantined": ["93:2024-03"],
        "consecutive_failures": 0,
        "last_error": "93:2024-03: ValueError",
        "last_run": {"status": "completed", "mode": "incremental", "at": "2026-01-01T00:00:00+00:00"},
    }


def test_health_without_any_run_record_is_ok() -> None:
    status, body = _health_of(MemoryDocuments())
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["materialization"]["last_run"] is None


class CountingFiles(MemoryFiles):
    def __init__(self) -> None:
        super().__init__()
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1


def test_public_health_is_reused_for_its_window_and_hides_the_store_details(
    fake_stores: FakeStores, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = CountingFiles()
    monkeypatch.setattr(fake_stores, "files", files)
    health.PUBLIC_CACHE.clear()
    clock = [100.0]
    monkeypatch.setattr(health.PUBLIC_CACHE, "_clock", lambda: clock[0])
    settings = Settings(HEALTH_CACHE_SECONDS=5)
    answers = [respond(make_request("GET", "/v1/health", key=None), health.ROUTE, health._handle, settings)
               for _ in range(20)]  # fmt: skip
    assert files.pings == 1  # twenty probes, one set of store pings
    body = json.loads(answers[-1].get_body())
    assert answers[-1].status_code == 200 and set(body) == {"status", "materialization", "checks"}
    assert "backend" not in answers[-1].get_body().decode() and answers[-1].headers["Cache-Control"] == "no-store"
    clock[0] += 5  # the window is over: the next probe pings again
    respond(make_request("GET", "/v1/health", key=None), health.ROUTE, health._handle, settings)
    assert files.pings == 2
    uncached = Settings(HEALTH_CACHE_SECONDS=0)
    for _ in range(3):
        respond(make_request("GET", "/v1/health", key=None), health.ROUTE, health._handle, uncached)
    assert files.pings == 5


@pytest.mark.parametrize(("key", "status"), [(None, 401), (READER_KEY, 403), (OPERATOR_KEY, 200)])
def test_store_details_are_for_operators_and_checked_now(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings, key: str | None, status: int
) -> None:
    health.PUBLIC_CACHE.clear()
    for _ in range(2):
        resp = respond(make_request("GET", "/v1/admin/health", key=key), health.DETAIL_ROUTE, health._handle_detail,
                       settings)  # fmt: skip
        assert resp.status_code == status
    if status == 200:
        body = json.loads(resp.get_body())
        assert set(body) == {"status", "stores", "materialization", "checks"}
        assert {name: store["backend"] for name, store in body["stores"].items()} == {
            "documents": settings.documents_backend,
            "files": settings.files_backend,
        }


# --- checks.freshness (issue 25) ------------------------------------------------------------------------


def _intensity_now(docs: MemoryDocuments, *timestamps: str) -> None:
    """The intensity-now document with one area per timestamp (only `timestamp` matters to health)."""
    items = [{"region_code": code, "timestamp": t} for code, t in zip(("11", "84", "FR"), timestamps, strict=False)]
    docs.upsert({"id": INTENSITY_NOW_DOC_ID, "region_code": SYSTEM_PARTITION, "doc_type": "intensity-now",
                 "key": INTENSITY_NOW_DOC_ID, "materialized_at": "2025-01-15T06:00:00Z", "items": items})  # fmt: skip


def test_health_degraded_when_the_newest_interval_is_older_than_the_default_two_hours() -> None:
    docs = MemoryDocuments()
    _intensity_now(docs, "2024-12-31T23:00:00+01:00", "2024-12-31T23:30:00+01:00", "2024-12-31T22:00:00+01:00")
    newest = datetime(2024, 12, 31, 22, 30, tzinfo=UTC)  # 23:30 in Paris: the newest of the three
    assert DEFAULT_STALE_AFTER_SECONDS == 7200 == Settings().HEALTH_STALE_AFTER_SECONDS
    fresh = check_health(docs, MemoryFiles(), {}, PingSlots(), now=newest + timedelta(hours=2))
    stale = check_health(docs, MemoryFiles(), {}, PingSlots(), now=newest + timedelta(hours=2, seconds=1))
    assert fresh[0] == stale[0] == 200  # stale data is still served: degraded, not down
    assert fresh[1]["status"] == "ok" and stale[1]["status"] == "degraded"
    assert stale[1]["checks"]["materialization"]["status"] == "ok"  # the runs themselves are fine
    assert stale[1]["checks"]["freshness"] == {
        "status": "degraded",
        "newest_interval": "2024-12-31T23:30:00+01:00",
        "age_seconds": 7201.0,
        "stale_after_seconds": 7200,
    }
    assert fresh[1]["checks"]["freshness"]["status"] == "ok"
    Health.model_validate(stale[1])


def test_the_2024_sample_is_stale_today_with_the_default_and_fresh_with_a_large_setting() -> None:
    docs = MemoryDocuments()
    _intensity_now(docs, "2024-12-31T23:30:00+01:00")
    _, body = check_health(docs, MemoryFiles(), {}, PingSlots())  # the real clock
    assert body["status"] == "degraded" and body["checks"]["freshness"]["age_seconds"] > 86400
    _, body = check_health(docs, MemoryFiles(), {}, PingSlots(), stale_after_seconds=100 * 365 * 86400)
    assert body["status"] == "ok" and body["checks"]["freshness"]["status"] == "ok"


@pytest.mark.parametrize("doc", [None, {}, {"items": []}, {"items": [{"timestamp": None}, {"timestamp": "bad"}]}])
def test_freshness_is_unknown_before_the_first_commit_and_does_not_degrade(doc: Any) -> None:
    check = freshness_check(doc, datetime.now(UTC), 7200)
    assert check == {"status": "unknown", "newest_interval": None, "age_seconds": None, "stale_after_seconds": 7200}
    status, body = _health_of(MemoryDocuments())
    assert status == 200 and body["status"] == "ok" and body["checks"]["freshness"]["status"] == "unknown"


def test_freshness_is_null_when_the_documents_store_is_down() -> None:
    status, body = check_health(Broken(), MemoryFiles(), {}, PingSlots())
    assert status == 503 and body["checks"] == {"materialization": None, "freshness": None}


def test_public_health_uses_the_setting_and_shows_the_freshness(
    fake_stores: FakeStores, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = CountingDocuments()
    _intensity_now(docs, "2024-12-31T23:30:00+01:00")
    monkeypatch.setattr(fake_stores, "documents", docs)
    bodies = []
    for stale_after in (7200, 100 * 365 * 86400):
        health.PUBLIC_CACHE.clear()
        settings = Settings(HEALTH_STALE_AFTER_SECONDS=stale_after, HEALTH_CACHE_SECONDS=5)
        docs.gets = 0
        for _ in range(3):  # the per-instance cache holds: one set of reads
            resp = respond(make_request("GET", "/v1/health", key=None), health.ROUTE, health._handle, settings)
        assert resp.status_code == 200 and docs.gets == 3
        bodies.append(PublicHealth.model_validate_json(resp.get_body()))
    assert [b.status for b in bodies] == ["degraded", "ok"]
    assert [b.checks.freshness.status for b in bodies if b.checks.freshness] == ["degraded", "ok"]
    assert bodies[0].checks.freshness is not None and bodies[0].checks.freshness.stale_after_seconds == 7200
