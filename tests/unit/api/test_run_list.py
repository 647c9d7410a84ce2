"""The run listing: query parsing, what reaches the extension's list query, the page and its next link."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from api.http import ApiError
from api.params import parse
from api.run_list import (
    DurableHttpLister,
    InstancePage,
    InstanceQuery,
    ListingRefused,
    RunListQuery,
    list_runs,
)
from devhost.host import RunningHost, start_host, stop_host
from orchestrations.names import ORCHESTRATOR
from tests.fixtures.devhost_apps import scenarios

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
LIST_URL = "https://api.example/v1/admin/backfills"


def links(instance_id: str) -> dict[str, str]:
    return {"self": f"{LIST_URL}/{instance_id}", "terminate": f"{LIST_URL}/{instance_id}"}


def status_json(instance_id: str, created: str, runtime: str = "Completed", name: str = ORCHESTRATOR) -> dict[str, Any]:
    mode = {"mode": "incremental"} if instance_id == "materialize-incremental" else {"mode": "backfill"}
    return {
        "name": name,
        "instanceId": instance_id,
        "runtimeStatus": runtime,
        "input": json.dumps({**mode, "start_date": "2024-01-01", "end_date": "2024-01-02", "region_codes": None}),
        "customStatus": {"done": 2, "total": 2},
        "output": {"days_written": 2},
        "createdTime": created,
        "lastUpdatedTime": created,
    }


class FakeLister:
    """Pages of the extension's status JSON, keyed by the continuation token that asks for them."""

    def __init__(self, pages: dict[str | None, InstancePage], refuse: int | None = None) -> None:
        self.pages = pages
        self.refuse = refuse
        self.calls: list[tuple[InstanceQuery, str | None]] = []

    async def list_instances(self, query: InstanceQuery, continuation: str | None) -> InstancePage:
        self.calls.append((query, continuation))
        if self.refuse is not None:
            raise ListingRefused(self.refuse, "bad token")
        return self.pages[continuation]


def query(**params: str) -> RunListQuery:
    return parse(RunListQuery, params, what="query")


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"status": "Done"}, "status"),
        ({"status": "Running,"}, "status"),
        ({"created_from": "2024-06-01"}, "created_from"),  # a date, not a timestamp
        ({"created_from": "2024-06-01T00:00:00"}, "created_from"),  # no offset
        ({"created_to": "1717200000"}, "created_to"),  # Unix seconds are not taken
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"kind": "weekly"}, "kind"),
        ({"continuation": "a b"}, "continuation"),
        ({"order": "asc"}, "order"),
    ],
)
def test_bad_query_values_are_400(params: dict[str, str], bad: str) -> None:
    with pytest.raises(ApiError) as err:
        query(**params)
    assert err.value.status == 400 and [e.parameter for e in err.value.errors] == [bad]


async def test_filters_reach_the_list_query_and_the_page_is_newest_first() -> None:
    lister = FakeLister(
        {
            None: InstancePage(
                [
                    status_json("backfill-0123456789abcdef", "2024-06-10T08:00:00Z"),
                    status_json("materialize-incremental", "2024-06-15T11:00:00Z", "Running"),
                    status_json("someone-else", "2024-06-15T11:30:00Z", name="other_orchestrator"),
                ],
                None,
            )
        }
    )
    page = await list_runs(lister, query(status="Running,Completed", limit="10"), links, LIST_URL)
    sent, token = lister.calls[0]
    assert token is None and sent.statuses == ("Running", "Completed") and sent.top == 10 and sent.prefix is None
    assert sent.created_from is None and sent.created_to is None
    assert [item["id"] for item in page["items"]] == ["materialize-incremental", "backfill-0123456789abcdef"]
    incremental, backfill = page["items"]
    assert incremental["kind"] == "incremental" and incremental["output"] is None  # only a completed run's
    assert backfill["kind"] == "backfill" and backfill["output"] == {"days_written": 2}
    assert backfill["progress"] == {"done": 2, "total": 2} and backfill["links"] == links(backfill["id"])
    assert page["next"] is None and page["continuation"] is None


@pytest.mark.parametrize(
    ("kind", "prefix"), [("backfill", "backfill-"), ("incremental", "materialize-incremental"), (None, None)]
)
async def test_kind_becomes_the_instance_id_prefix(kind: str | None, prefix: str | None) -> None:
    lister = FakeLister({None: InstancePage([], None)})
    await list_runs(lister, query(**({"kind": kind} if kind else {})), links, LIST_URL)
    assert lister.calls[0][0].prefix == prefix


async def test_next_link_carries_the_query_the_pinned_window_and_the_store_token() -> None:
    created_to = "2024-06-14T00:00:00+02:00"
    lister = FakeLister(
        {
            None: InstancePage([status_json("backfill-0123456789abcdef", "2024-06-10T08:00:00Z")], "store/token=="),
            "store/token==": InstancePage([], None),
        }
    )
    first = await list_runs(lister, query(kind="backfill", created_to=created_to, limit="1"), links, LIST_URL)
    url = urlsplit(first["next"])
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == LIST_URL
    assert params["continuation"] == first["continuation"] and "=" not in first["continuation"]
    assert params["kind"] == "backfill" and params["limit"] == "1"
    assert "created_from" not in params
    assert datetime.fromisoformat(params["created_to"]) == datetime.fromisoformat(created_to)
    # Following it: the same filters, the store's own token back, and an empty last page.
    second = await list_runs(lister, query(**params), links, LIST_URL)
    assert lister.calls[1][1] == "store/token==" and lister.calls[1][0] == lister.calls[0][0]
    assert second == {"items": [], "created_from": None, "continuation": None, "next": None}


@pytest.mark.parametrize(
    "continuation",
    # not base64, not text, a control character (no header can carry it), refused by the store
    ["A", base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="), "zYQNWt", "c3RvcmU"],
)
async def test_a_continuation_the_store_refuses_or_that_is_not_ours_is_400(continuation: str) -> None:
    lister = FakeLister({}, refuse=500)
    with pytest.raises(ApiError) as err:
        await list_runs(lister, RunListQuery.model_validate({"continuation": continuation}), links, LIST_URL)
    assert err.value.status == 400 and err.value.errors[0].parameter == "continuation"


async def test_a_refusal_without_continuation_stays_an_error() -> None:
    with pytest.raises(ListingRefused):
        await list_runs(FakeLister({}, refuse=500), RunListQuery.model_validate({}), links, LIST_URL)


@pytest.fixture
async def devhost(tmp_path: Path) -> AsyncIterator[RunningHost]:
    running = await start_host(scenarios.app, tmp_path, timers=False)
    yield running
    await stop_host(running, grace_seconds=1)


async def test_the_http_lister_pages_through_the_extension_api_with_the_continuation_header(
    devhost: RunningHost,
) -> None:
    async with aiohttp.ClientSession() as http:
        for n in range(3):
            async with http.post(f"{devhost.base_url}/durabletask/orchestrators/approval/run-{n}") as resp:
                assert resp.status == 202
    lister = DurableHttpLister(f"{devhost.base_url}/durabletask/")
    condition = InstanceQuery(NOW - timedelta(days=3650), None, (), "run-", 2)
    first = await lister.list_instances(condition, None)
    second = await lister.list_instances(condition, first.continuation)
    assert first.continuation is not None and second.continuation is None
    assert sorted(s["instanceId"] for s in first.statuses + second.statuses) == ["run-0", "run-1", "run-2"]
    with pytest.raises(ListingRefused):
        await lister.list_instances(condition, "garbage")
