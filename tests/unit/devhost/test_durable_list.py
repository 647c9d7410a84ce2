"""The extension's list-instances query on devhost: page size, continuation header, lenient parameters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import azure.durable_functions as df
import pytest

from devhost.durable_api import CONTINUATION_HEADER, client_binding
from devhost.host import RunningHost, start_host, stop_host
from tests.fixtures.devhost_apps import scenarios

IDS = [f"waiting-{n}" for n in range(5)]


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[RunningHost]:
    running = await start_host(scenarios.app, tmp_path, timers=False)
    async with aiohttp.ClientSession() as http:
        for instance_id in IDS:  # approval waits for an event: every instance stays Running
            async with http.post(f"{running.base_url}/durabletask/orchestrators/approval/{instance_id}") as resp:
                assert resp.status == 202
        for _ in range(500):  # until every instance ran its first episode (Pending → Running)
            async with http.get(f"{running.base_url}/durabletask/instances/?runtimeStatus=Running") as resp:
                if len(await resp.json()) == len(IDS):
                    break
            await asyncio.sleep(0.01)
    yield running
    await stop_host(running, grace_seconds=1)


async def _list(
    host: RunningHost, query: str = "", token: str | None = None
) -> tuple[int, list[dict[str, Any]], str | None]:
    headers = {CONTINUATION_HEADER: token} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{host.base_url}/durabletask/instances/?{query}", headers=headers) as resp,
    ):
        body = await resp.json(content_type=None)
        return resp.status, body, resp.headers.get(CONTINUATION_HEADER)


async def test_pages_follow_the_continuation_header_to_every_instance_once(host: RunningHost) -> None:
    seen: list[str] = []
    sizes: list[int] = []
    token: str | None = None
    while True:
        status, page, token = await _list(host, "top=2", token)
        assert status == 200
        seen += [item["instanceId"] for item in page]
        sizes.append(len(page))
        if token is None:
            break
    assert sorted(seen) == IDS and sizes == [2, 2, 1]


async def test_defaults_show_the_input_and_fit_in_one_page(host: RunningHost) -> None:
    status, page, token = await _list(host)
    assert status == 200 and token is None and len(page) == len(IDS)
    assert all("input" in item and item["runtimeStatus"] == "Running" for item in page)
    _, hidden, _ = await _list(host, "showInput=false")
    assert all(item["input"] is None for item in hidden)


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("runtimeStatus=Bogus", 5),  # no value parses: no filter, as Enum.TryParse leaves it
        ("runtimeStatus=running", 5),  # names are case-sensitive: ignored too
        ("runtimeStatus=Completed", 0),
        ("runtimeStatus=Completed,Running", 5),
        ("runtimeStatus=0", 5),  # the enum's number for Running
        ("createdTimeFrom=not-a-time", 5),
        ("createdTimeFrom=2999-01-01T00:00:00Z", 0),
        ("createdTimeTo=2000-01-01T00:00:00Z", 0),
        ("top=abc", 5),
        ("instanceIdPrefix=waiting-3", 1),
    ],
)
async def test_parameters_are_read_as_the_extension_reads_them(host: RunningHost, query: str, count: int) -> None:
    status, page, _ = await _list(host, query)
    assert status == 200 and len(page) == count


async def test_a_token_the_store_cannot_read_is_a_server_error(host: RunningHost) -> None:
    status, body, _ = await _list(host, "top=2", token="not base64!")
    error = cast("dict[str, Any]", body)  # a failed listing answers with the extension's error object
    assert status == 500 and "continuation token" in error["ExceptionMessage"]


async def test_the_sdk_list_call_reads_the_first_page(host: RunningHost) -> None:
    client = df.DurableOrchestrationClient(client_binding(host.base_url))
    running = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Running])
    assert sorted(s.instance_id for s in running) == IDS
