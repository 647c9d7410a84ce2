"""Overlapping runs on the Cosmos path (cosmosdb-server honours If-Match with 412, create with 409): a backfill
and the incremental run interleaved at a month write, and both at once in threads, cannot regress each other."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from domain.csv_export import render_month_csv
from domain.naming import month_file_name
from stores.documents_cosmos import CosmosDocumentStore, cosmos_container
from tests.integration.emulators import CosmosServer
from tests.integration.stores.test_documents_cosmos import emulator_settings
from tests.support.fakes import MemoryFiles
from tests.unit.domain.test_materialization_overlap import (
    BACKFILL,
    NEW,
    OLD,
    _in_thread,
    assert_consistent,
    gold_at,
    run,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]


class InterleavedCosmos(CosmosDocumentStore):
    """Runs `other` once, just before the first conditional write of the month document."""

    other: Any = None

    def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
        if self.other is not None and doc["id"] == "11:2024-04":
            other, self.other = self.other, None
            other()
        return super().replace_if(doc, version)


@pytest.fixture
def container(cosmos_server: CosmosServer) -> Any:
    return cosmos_container(emulator_settings(cosmos_server, f"overlap{uuid.uuid4().hex[:8]}"))


def test_a_month_write_that_lost_the_race_rebuilds_with_the_other_runs_day(container: Any) -> None:
    docs, files = InterleavedCosmos(container), MemoryFiles()
    run(gold_at(OLD), docs, files, {"mode": "incremental"})
    docs.other = lambda: run(gold_at(NEW), docs, files, {"mode": "incremental"})
    stale = gold_at(OLD)
    stale.rows["11"] = [r._replace(valeur_mw=120.0) if r.date_locale == "2024-04-03" else r for r in stale.rows["11"]]
    run(stale, docs, files, {**BACKFILL, "start_date": "2024-04-03"})
    assert docs.other is None  # the interleaving happened
    month = docs.get("11", "11:2024-04")
    assert month is not None and month["energy_mwh"]["eolien"] == pytest.approx((150 + 120 + 100) * 24)
    assert files.read(month_file_name("11", "2024-04")) == render_month_csv(month)


def test_backfill_and_incremental_in_threads_on_cosmos(container: Any) -> None:
    regions = ("11", "24")
    docs, files = CosmosDocumentStore(container), MemoryFiles()
    run(gold_at(OLD, regions), docs, files, {"mode": "incremental"})
    errors: list[BaseException] = []
    threads = [
        _in_thread(lambda: run(gold_at(OLD, regions), docs, files, BACKFILL), errors),
        _in_thread(lambda: run(gold_at(NEW, regions), docs, files, {"mode": "incremental"}), errors),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert_consistent(docs, files, gold_at(NEW, regions))  # type: ignore[arg-type]
