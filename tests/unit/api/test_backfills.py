"""Backfills: deterministic ids, idempotent start, status with progress, terminate, body validation."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.backfills import (
    INSTANCE_ROUTE,
    MAX_BODY_BYTES,
    START_ROUTE,
    backfill_status,
    delete_backfill,
    instance_id_for,
    normalized_regions,
    read_json_body,
    start_backfill,
)
from api.http import ApiError, Reply, RequestContext, respond_async
from api.params import BackfillRequest, parse
from core.settings import Settings
from orchestrations.names import BACKFILL_INSTANCE_PREFIX, INCREMENTAL_INSTANCE_ID, ORCHESTRATOR
from tests.support.api_documents import OPERATOR_KEY, READER_KEY, MakeRequest
from tests.unit.api.test_http import assert_problem


class FakeDurableClient:
    """The DurableOrchestrationClient calls we make, over real DurableOrchestrationStatus objects."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, str, Any]] = []
        self.terminated: list[str] = []
        self.slow_to_terminate = False

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
        if not self.slow_to_terminate:
            self.instances[instance_id]["runtimeStatus"] = "Terminated"

    async def purge_instance_history(self, instance_id: str) -> None:
        assert self.instances[instance_id]["runtimeStatus"] not in ("Running", "Pending"), "purge of an active run"
        del self.instances[instance_id]

    def set(self, instance_id: str, **fields: Any) -> None:
        self.instances[instance_id].update(fields)

    async def get_status_by(
        self,
        created_time_from: Any = None,
        created_time_to: Any = None,
        runtime_status: Any = None,
        instance_id_prefix: str | None = None,
    ) -> list[DurableOrchestrationStatus]:
        wanted = {getattr(s, "value", s) for s in runtime_status or []}
        return [
            DurableOrchestrationStatus(**{k: v for k, v in data.items() if k != "input"})  # a listing: no inputs
            for instance_id, data in self.instances.items()
            if instance_id.startswith(instance_id_prefix or "") and (not wanted or data["runtimeStatus"] in wanted)
        ]


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


def _with_incremental_run() -> FakeDurableClient:
    client = FakeDurableClient()
    client.instances["materialize-incremental"] = {
        "name": ORCHESTRATOR,
        "instanceId": "materialize-incremental",
        "createdTime": "2024-01-01T00:00:00Z",
        "input": json.dumps({"mode": "incremental"}),
        "customStatus": {"stage": "materializing", "done": 3, "total": 12},
        "runtimeStatus": "Running",
    }
    return client


@pytest.mark.parametrize(
    "instance_id", ["backfill-0123456789abcdef", "materialize-incrementalx", "../etc", "backfill-XYZ"]
)
async def test_unknown_or_foreign_ids_are_404(instance_id: str) -> None:
    with pytest.raises(ApiError) as err:
        await backfill_status(_with_incremental_run(), instance_id, links)
    assert err.value.status == 404


async def test_the_incremental_run_reads_by_its_id_with_its_progress() -> None:
    body = await backfill_status(_with_incremental_run(), "materialize-incremental", links)
    assert body["kind"] == "incremental" and body["runtime_status"] == "Running"
    assert body["progress"] == {"stage": "materializing", "done": 3, "total": 12}
    assert body["request"] is None  # no range of its own: it follows the Gold watermark


@pytest.mark.parametrize(
    ("runtime", "terminated"),
    [("Running", True), ("Pending", True), ("Completed", False), ("Failed", False), ("Terminated", False)],
)
async def test_delete_terminates_an_active_run_then_purges_it(runtime: str, terminated: bool) -> None:
    client = FakeDurableClient()
    instance_id, _ = await start_backfill(client, request(), links)
    client.set(instance_id, runtimeStatus=runtime)
    ended_as = await delete_backfill(client, instance_id)
    assert (client.terminated == [instance_id]) is terminated
    assert ended_as == ("Terminated" if terminated else runtime)
    for again in (backfill_status(client, instance_id, links), delete_backfill(client, instance_id)):
        with pytest.raises(ApiError) as err:
            await again
        assert err.value.status == 404  # gone


async def test_delete_of_a_run_still_ending_is_409_with_retry_after_and_keeps_it() -> None:
    client = FakeDurableClient()
    instance_id, _ = await start_backfill(client, request(), links)
    client.set(instance_id, runtimeStatus="Running")
    client.slow_to_terminate = True
    with pytest.raises(ApiError) as err:
        await delete_backfill(client, instance_id, wait_seconds=0.3)
    assert err.value.status == 409 and err.value.headers["Retry-After"] == "5"
    assert instance_id in client.instances and client.terminated


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
        ("application/json", b"[" * MAX_BODY_BYTES, 400),  # nested past the parser's recursion limit
        ("application/json", b'{"a":' * (MAX_BODY_BYTES // 5), 400),
        ("application/json", b"[" * (MAX_BODY_BYTES + 1), 413),
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


async def test_start_and_delete_are_logged_with_the_callers_key_id_never_the_key(
    make_request: MakeRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import hashlib

    from api import backfills

    monkeypatch.setattr("api.http.get_settings", lambda: settings)
    client = FakeDurableClient()
    start = backfills.backfill_start._function.get_user_function().__wrapped__  # past the durable client middleware
    instance = backfills.backfill_instance._function.get_user_function().__wrapped__
    body = json.dumps({"start_date": "2024-01-01", "end_date": "2024-01-02"}).encode()
    headers = {"Content-Type": "application/json"}
    with caplog.at_level(logging.INFO, logger="api.backfills"):
        resp = await start(make_request("POST", START_ROUTE.path, key=OPERATOR_KEY, headers=headers, body=body), client)
        assert resp.status_code == 202
        instance_id = json.loads(resp.get_body())["id"]
        req = make_request(
            "DELETE", f"/v1/admin/backfills/{instance_id}", key=OPERATOR_KEY, route_params={"instance_id": instance_id}
        )
        assert (await instance(req, client)).status_code == 204
    key_id = f"api-key:key:{hashlib.sha256(OPERATOR_KEY.encode()).hexdigest()[:12]}"
    lines = [r.getMessage() for r in caplog.records if r.name == "api.backfills"]
    assert len(lines) == 2 and lines[0].startswith("backfill started") and lines[1].startswith("backfill deleted")
    assert all(f"caller={key_id}" in line and OPERATOR_KEY not in line for line in lines)


# --- at most one backfill per region-range -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "conflicts"),
    [
        ({"start_date": "2024-01-31", "end_date": "2024-02-10"}, True),  # one shared day, all regions
        ({"start_date": "2023-12-01", "end_date": "2024-03-01", "region_codes": ["32", "44"]}, True),
        ({"start_date": "2024-01-10", "end_date": "2024-01-12", "region_codes": ["44"]}, False),  # other regions
        ({"start_date": "2024-02-01", "end_date": "2024-02-10"}, False),  # the next days
    ],
)
async def test_an_overlapping_backfill_is_409_naming_the_running_one(second: dict[str, Any], conflicts: bool) -> None:
    client = FakeDurableClient()
    first_id, _ = await start_backfill(client, request(region_codes=["11", "32"]), links)
    client.set(first_id, runtimeStatus="Running")
    if not conflicts:
        await start_backfill(client, request(**second), links)
        assert len(client.started) == 2
        return
    with pytest.raises(ApiError) as caught:
        await start_backfill(client, request(**second), links)
    assert caught.value.status == 409 and caught.value.slug == "backfill-overlap"
    assert first_id in caught.value.detail and "2024-01-01 to 2024-01-31" in caught.value.detail
    assert len(client.started) == 1
    client.set(first_id, runtimeStatus="Completed")  # once it ended, the same request starts
    await start_backfill(client, request(**second), links)
    assert len(client.started) == 2


async def test_of_two_overlapping_starts_at_once_the_later_created_yields() -> None:
    """Both passed the check before either existed: the one created later terminates itself and gets 409."""

    class RacingClient(FakeDurableClient):
        async def start_new(
            self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
        ) -> str:
            if len(self.started) == 0:  # the rival's start lands first, between our check and our start
                rival_input = {
                    "mode": "backfill",
                    "start_date": "2024-01-15",
                    "end_date": "2024-02-15",
                    "region_codes": None,
                }
                rival_id = instance_id_for("2024-01-15", "2024-02-15", None)
                await super().start_new(orchestration_function_name, rival_id, rival_input)
                self.set(rival_id, createdTime="2020-01-01T00:00:00+00:00")
            return await super().start_new(orchestration_function_name, instance_id, client_input)

    client = RacingClient()
    rival = request(start_date="2024-01-15", end_date="2024-02-15")
    with pytest.raises(ApiError) as caught:
        await start_backfill(client, request(), links)
    rival_id = instance_id_for(rival.start_date.isoformat(), rival.end_date.isoformat(), None)
    assert caught.value.status == 409 and rival_id in caught.value.detail
    assert client.terminated == [instance_id_for("2024-01-01", "2024-01-31", None)]


@pytest.mark.parametrize("runtime", ["Completed", "Running"])
async def test_delete_of_the_incremental_run_is_409_and_keeps_its_history(
    make_request: MakeRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    """DELETE /v1/admin/backfills/materialize-incremental: 409 problem+json; the scheduled run is neither
    terminated nor purged (it was: its history gone from the run list and the status route)."""
    from api import backfills

    monkeypatch.setattr("api.http.get_settings", lambda: settings)
    client = FakeDurableClient()
    await client.start_new(ORCHESTRATOR, INCREMENTAL_INSTANCE_ID, {"mode": "incremental"})
    client.set(INCREMENTAL_INSTANCE_ID, runtimeStatus=runtime)
    instance = backfills.backfill_instance._function.get_user_function().__wrapped__
    route_params = {"instance_id": INCREMENTAL_INSTANCE_ID}
    path = f"/v1/admin/backfills/{INCREMENTAL_INSTANCE_ID}"
    resp = await instance(make_request("DELETE", path, key=OPERATOR_KEY, route_params=route_params), client)
    body = assert_problem(resp, 409)
    assert body["type"] == "urn:eco2mix:problem:scheduled-run" and INCREMENTAL_INSTANCE_ID in body["detail"]
    assert client.terminated == [] and client.instances[INCREMENTAL_INSTANCE_ID]["runtimeStatus"] == runtime
    got = await instance(make_request("GET", path, key=OPERATOR_KEY, route_params=route_params), client)
    assert got.status_code == 200 and json.loads(got.get_body())["id"] == INCREMENTAL_INSTANCE_ID
