"""GET /v1/health: 200 when every serving store answers, 503 naming the one that does not."""

from __future__ import annotations

import time

import pytest

from api import health
from api.health import check_health
from tests.fakes import MemoryDocuments, MemoryFiles


class Broken:
    def ping(self) -> None:
        raise ConnectionError("https://secret-endpoint:443 refused")


class Slow:
    def ping(self) -> None:
        time.sleep(0.5)


def test_healthy() -> None:
    status, body = check_health(MemoryDocuments(), MemoryFiles(), {"documents": "embedded", "files": "embedded"})
    assert status == 200 and body["status"] == "ok"
    assert {k: v["status"] for k, v in body["stores"].items()} == {"documents": "ok", "files": "ok"}


@pytest.mark.parametrize(
    ("documents", "files", "down"), [(Broken(), MemoryFiles(), "documents"), (MemoryDocuments(), Broken(), "files")]
)
def test_a_failing_store_gives_503_without_its_message(documents: object, files: object, down: str) -> None:
    status, body = check_health(documents, files, {})  # type: ignore[arg-type]
    assert status == 503 and body["status"] == "degraded"
    assert body["stores"][down] == {**body["stores"][down], "status": "unavailable", "error": "ConnectionError"}
    assert "secret-endpoint" not in str(body)


def test_a_hanging_store_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "PING_TIMEOUT_SECONDS", 0.05)
    status, body = check_health(Slow(), MemoryFiles(), {})
    assert status == 503 and "no answer" in body["stores"]["documents"]["error"]
