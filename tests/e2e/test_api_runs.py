"""GET /v1/admin/backfills over real HTTP on devhost: backfills and the incremental run, paged through `next`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.e2e_api import Api, assert_problem

pytestmark = pytest.mark.e2e
RUNS = "/v1/admin/backfills"


def _all_pages(api: Api, params: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Every run the listing gives, following `next` from the first page; (runs, pages)."""
    resp = api.get(RUNS, role="operator", params=params)
    runs: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert resp.status_code == 200, resp.text
        assert resp.headers["Cache-Control"] == "no-store"
        body = resp.json()
        runs += body["items"]
        pages += 1
        if body["next"] is None:
            return runs, pages
        assert len(body["items"]) <= int(params.get("limit", "50"))
        resp = api.session.get(body["next"], headers=api.key("operator"), timeout=30)


def _wait_done(api: Api, location: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(location, role="operator").json()
        if body["runtime_status"] in {"Completed", "Failed", "Terminated"} or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_backfills_and_the_incremental_run_are_listed_paged_and_readable_by_id(api: Api) -> None:
    started = api.call(
        "POST",
        RUNS,
        role="operator",
        json={"start_date": "2024-05-01", "end_date": "2024-05-01", "region_codes": ["28"]},
    )
    assert started.status_code == 202
    backfill_id = started.json()["id"]
    done = _wait_done(api, started.headers["Location"])
    assert done["runtime_status"] == "Completed" and done["kind"] == "backfill"

    runs, pages = _all_pages(api, {"limit": "1"})
    by_id = {run["id"]: run for run in runs}
    assert len(by_id) == len(runs) and pages >= 2  # each run once, across several pages
    assert {"materialize-incremental", backfill_id} <= set(by_id)
    assert by_id[backfill_id]["output"] == done["output"] and by_id[backfill_id]["progress"] == done["progress"]
    incremental = by_id["materialize-incremental"]
    assert incremental["kind"] == "incremental" and incremental["request"] is None

    single = api.get(f"{RUNS}/materialize-incremental", role="operator")
    assert single.status_code == 200 and single.json()["id"] == "materialize-incremental"
    assert single.json()["links"]["self"].endswith(f"{RUNS}/materialize-incremental")

    only_backfills, _ = _all_pages(api, {"kind": "backfill", "status": "Completed"})
    assert backfill_id in {r["id"] for r in only_backfills} and {r["kind"] for r in only_backfills} == {"backfill"}
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert _all_pages(api, {"created_from": future})[0] == []
    assert_problem(api.get(RUNS, role="operator", params={"status": "Completed,Nope"}), 400)
