"""The activity triggers: thin wrappers that run the materialization steps with the worker's stores and bind
the orchestration instance id to their log lines."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from activities import materialize as acts
from core.telemetry import current_log_context
from domain import materialization
from tests.support.fakes import MemoryDocuments, MemoryFiles, MemoryGold, gold_day_rows


def user_function(builder: Any) -> Any:
    return builder._function._func


@pytest.fixture
def fake_stores(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    stores = SimpleNamespace(
        gold=MemoryGold({"93": gold_day_rows("2024-07-14", {"solaire": 300.0, "consommation": 900.0})}),
        documents=MemoryDocuments(),
        files=MemoryFiles(),
    )
    monkeypatch.setattr(acts, "get_stores", lambda: stores)
    return stores


def test_activities_run_plan_batch_commit_and_log_with_the_instance_id(
    fake_stores: SimpleNamespace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []
    original = materialization.materialize_batch

    def spy(*args: Any) -> Any:
        seen.append(current_log_context())
        return original(*args)

    monkeypatch.setattr(materialization, "materialize_batch", spy)  # the module the activity imports when it runs
    instance = {"instance_id": "materialize-incremental"}
    with caplog.at_level(logging.INFO, logger=acts.__name__):
        plan = user_function(acts.plan_materialization)({"mode": "incremental", **instance})
        results = [user_function(acts.materialize_batch)({**b, **instance}) for b in plan["batches"]]
        summary = user_function(acts.commit_materialization)({"plan": plan, "results": results, **instance})
    assert plan["partitions"] == 1 and summary["days_written"] == 1
    assert seen == [{"instance_id": "materialize-incremental"}]
    assert "instance_id" not in current_log_context()
    assert fake_stores.documents.get("93", "93:2024-07-14") is not None
    assert any("committed" in r.getMessage() for r in caplog.records)
