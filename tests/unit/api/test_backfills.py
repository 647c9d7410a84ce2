"""Backfills: deterministic ids, idempotent start, status with progress, terminate, body validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.backfills import (
    INSTANCE_ROUTE,
    START_ROUTE,
    backfill_status,
    instance_id_for,
    normalized_regions,
    read_json_body,
    start_backfill,
    terminate_backfill,
)
from api.http import ApiError, Reply, RequestContext, respond_async
from api.params import BackfillRequest, parse
from orchestrations.names import BACKFILL_INSTANCE_PREFIX, ORCHESTRATOR
from stores.settings import Settings
from tests.unit.api.conftest import OPERATOR_KEY, READER_KEY, MakeRequest


class FakeDurableClient:
    """The DurableOrchestrationClient calls we make, over real DurableOrchestrationStatus objects."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, str, Any]] = []
        self.terminated: list[str] = []

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_history_output: bool = False, show_input: bool = False
    ) -> DurableOrchestrationStatus:
        data = self.instances.get(instance_id)
        return DurableOrchestrationStatus(**data) if data else DurableOrchestrationStatus.from_json("not found")

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str:
        assert instance_id is not None
        self.started.append((orchestration_function_name, instance_id, client_input))
        now = datetime.now(UTC).isoformat()
        self.instances[instance_id] = {
            "name": orchestration_function_name,
            "instanceId": instance_id,
            "createdTime": now,
            "lastUpdatedTime": now,
            "input": json.dumps(client_input),
            "runtimeStatus": "Pending",
        }
        return instance_id

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.terminated.append(instance_id)
        self.instances[instance_id]["runtimeStatus"] = "Terminated"

    def set(self, instance_id: str, **fields: Any) -> None:
        self.instances[instance_id].update(fields)


def links(instance_id: str) -> dict[str, str]:
    return {"self": f"/v1/admin/backfills/{instance_id}", "terminate": f"/v1/admin/backfills/{instance_id}"}


def request(**body: Any) -> BackfillRequest:
    return parse(BackfillRequest, {"start_date": "2024-01-01", "end_date": "2024-01-31", **body}, what="body")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"region_codes": ["11", "32"]}, {"region_codes": ["32", "11", "11"]}, True),
        ({}, {"region_codes": ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93"]}, True),
        ({"region_codes": ["11"]}, {"region_codes": ["32"]}, False),
        ({}, {"end_date": "2024-02-01"}, False),
    ],
)
async def test_instance_id_is_deterministic_in_range_and_region_set(
    a: dict[str, Any], b: dict[str, Any], same: bool
) -> None:
    ra, rb = request(**a), request(**b)
    ida = instance_id_for(ra.start_date.isoformat(), ra.end_date.isoformat(), normalized_regions(ra.region_codes))
    idb = instance_id_for(rb.start_date.isoformat(), rb.end_date.isoformat(), normalized_regions(rb.region_codes))
    assert (ida == idb) is same
    assert ida.startswith(BACKFILL_INSTANCE_PREFIX) and len(ida) == len(BACKFILL_INSTANCE_PREFIX) + 16


async def test_start_passes_the_orchestrator_its_input() -> None:
    client = FakeDurableClient()
    instance_id, body = await start_backfill(client, request(region_codes=["32", "11"]), links)
    assert client.started == [
        (
            ORCHESTRATOR,
            instance_id,
            {"mode": "backfill", "start_date": "2024-01-01", "end_date": "2024-01-31", "region_codes": ["11", "32"]},
        )
    ]
    assert body["runtime_status"] == "Pending" and body["already_running"] is False
    assert body["request"] == {"start_date": "2024-01-01", "end_date": "2024-01-31", "region_codes": ["11", "32"]}


@pytest.mark.parametrize(
    ("state", "starts_again"),
    [("Running", False), ("Pending", False), ("Completed", True), ("Failed", True), ("Terminated", True)],
)
async def test_same_request_while_active_returns_the_running_instance(state: str, starts_again: bool) -> None:
    client = FakeDurableClient()
    instance_id, _ = await start_backfill(client, request(), links)
    client.set(instance_id, runtimeStatus=state)
    again_id, body = await start_backfill(client, request(), links)
    assert again_id == instance_id
    assert (len(client.started) == 2) is starts_again
    assert body["already_running"] is (not starts_again)


async def test_status_shows_progress_and_output_only_when_completed() -> None:
    client = FakeDurableClient()
    instance_id, _ = await start_backfill(client, request(), links)
    client.set(instance_id, runtimeStatus="Running", customStatus={"stage": "materializing", "done": 3, "total": 12})
    running = await backfill_status(client, instance_id, links)
    assert running["progress"] == {"stage": "materializing", "done": 3, "total": 12} and running["output"] is None
    client.set(instance_id, runtimeStatus="Completed", output={"days_written": 31})
    done = await backfill_status(client, instance_id, links)
    assert done["runtime_status"] == "Completed" and done["output"] == {"days_written": 31}
    assert done["created_time"] is not None and done["links"] == links(instance_id)
    client.set(instance_id, runtimeStatus="Failed", output="Traceback: secret")
    assert (await backfill_status(client, instance_id, links))["output"] is None


@pytest.mark.parametrize(
    "instance_id", ["backfill-0123456789abcdef", "materialize-incremental", "../etc", "backfill-XYZ"]
)
async def test_unknown_or_foreign_ids_are_404(instance_id: str) -> None:
    client = FakeDurableClient()
    client.instances["materialize-incremental"] = {
        "name": ORCHESTRATOR,
        "instanceId": "x",
        "createdTime": "2024-01-01T00:00:00Z",
        "runtimeStatus": "Running",
    }
    with pytest.raises(ApiError) as err:
        await backfill_status(client, instance_id, links)
    assert err.value.status == 404


async def test_terminate_running_then_409_once_ended() -> None:
    client = FakeDurableClient()
    instance_id, _ = await start_backfill(client, request(), links)
    client.set(instance_id, runtimeStatus="Running")
    body = await terminate_backfill(client, instance_id, links)
    assert client.terminated == [instance_id] and body["runtime_status"] == "Terminating"
    with pytest.raises(ApiError) as err:
        await terminate_backfill(client, instance_id, links)
    assert err.value.status == 409


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"start_date": "2024-02-01", "end_date": "2024-01-01"}, "before start_date"),
        ({"start_date": "2000-01-01", "end_date": "2024-01-01"}, "at most 3660 days"),
        (
            {"start_date": "2024-01-01", "end_date": "2024-01-02", "region_codes": ["11", "99"]},
            "Unknown region codes: 99",
        ),
    ],
)
async def test_start_rejects_bad_ranges_and_regions(body: dict[str, Any], error: str) -> None:
    client = FakeDurableClient()
    with pytest.raises(ApiError) as err:
        await start_backfill(client, parse(BackfillRequest, body, what="body"), links)
    assert err.value.status == 400 and error in err.value.detail
    assert client.started == []


@pytest.mark.parametrize(
    ("content_type", "raw", "status"),
    [
        ("text/plain", b"{}", 415),
        (None, b"{}", 415),
        ("application/json", b"{not json", 400),
        ("application/json", b"[1, 2]", 400),
        ("application/json", b"\xff\xfe", 400),
        ("application/json", b" " * 20000, 413),
        ("application/json; charset=utf-8", b'{"a": 1}', None),
    ],
)
def test_read_json_body(make_request: MakeRequest, content_type: str | None, raw: bytes, status: int | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    req = make_request("POST", START_ROUTE.path, headers=headers, body=raw)
    if status is None:
        assert read_json_body(req) == {"a": 1}
        return
    with pytest.raises(ApiError) as err:
        read_json_body(req)
    assert err.value.status == status


@pytest.mark.parametrize(
    ("key", "method", "status"), [(READER_KEY, "GET", 403), (None, "DELETE", 401), (OPERATOR_KEY, "GET", 404)]
)
async def test_instance_route_needs_the_operator_role(
    make_request: MakeRequest, settings: Settings, key: str | None, method: str, status: int
) -> None:
    client = FakeDurableClient()

    async def handle(ctx: RequestContext) -> Reply:
        return Reply(await backfill_status(client, "backfill-0000000000000000", links))

    req = make_request(method, "/v1/admin/backfills/backfill-0000000000000000", key=key)
    resp = await respond_async(req, INSTANCE_ROUTE, handle, settings)
    assert resp.status_code == status
