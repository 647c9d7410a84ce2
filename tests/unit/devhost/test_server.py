"""HTTP dispatch and the Durable HTTP API over a real aiohttp server, with the SDK's real client."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import azure.durable_functions as df
import azure.functions as func
import pytest
import yarl

from devhost.durable_api import client_binding
from devhost.host import RunningHost, start_host, stop_host
from tests.fixtures.devhost_apps import scenarios


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[RunningHost]:
    # Real clock: a simulated one would jump over the approval timeout while the test raises its event.
    running = await start_host(scenarios.app, tmp_path, timers=False)
    yield running
    await stop_host(running, grace_seconds=1)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def wait_status(client: df.DurableOrchestrationClient, instance_id: str, wanted: str) -> Any:
    for _ in range(300):
        status = await client.get_status(instance_id)
        if status and status.runtime_status and status.runtime_status.value == wanted:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"{instance_id} never reached {wanted}")


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "expected"),
    [
        (
            "GET",
            "/echo/12/x?a=1&a=2&b=z",
            {"X-Probe": "p"},
            b"",
            200,
            {"route": {"item": "12", "rest": "x"}, "query": {"a": "1,2", "b": "z"}, "header": "p"},
        ),
        ("PUT", "/echo/7", {}, b"payload", 200, {"method": "PUT", "route": {"item": "7"}, "body": "payload"}),
        ("POST", "/echo/7", {}, b"", 405, {"title": "Method Not Allowed", "status": 405}),
        ("GET", "/echo/notanint", {}, b"", 404, {"title": "Not Found", "status": 404}),
        ("GET", "/nowhere", {}, b"", 404, {"title": "Not Found", "status": 404}),
    ],
)
async def test_http_dispatch(
    host: RunningHost,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    expected: dict[str, Any],
) -> None:
    async with http.request(method, host.base_url + path, headers=headers, data=body) as response:
        payload = await response.json(content_type=None)
        assert response.status == status
        assert {k: payload[k] for k in expected} == expected
        if status >= 400:
            assert response.content_type == "application/problem+json"
            assert response.headers["X-Request-ID"] == payload["request_id"]
        else:
            assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]  # repeated headers kept


@pytest.mark.parametrize("size", [10, 65_536, 300_000])
async def test_a_body_of_any_size_arrives_whole_with_its_headers(
    host: RunningHost, http: aiohttp.ClientSession, size: int
) -> None:
    """Small and large bodies arrive whole with their headers, twice on one kept-alive connection."""
    text = "".join(chr(ord("a") + k % 26) for k in range(size))
    for _ in range(2):
        async with http.put(host.base_url + "/echo/7", data=text.encode()) as response:
            raw = await response.read()
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == len(raw)
            assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
            assert json.loads(raw)["body"] == text


async def test_a_client_that_leaves_mid_body_is_no_error(
    host: RunningHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A large answer whose client resets the connection before reading it all: no error in the log (as aiohttp
    treats a small answer), and the host answers the next client."""
    loop = asyncio.get_running_loop()
    body = b"x" * 8_000_000  # more than the kernel buffers of a client that reads nothing
    request = (
        f"PUT /echo/7 HTTP/1.1\r\nHost: {host.base_url.split('//')[1]}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    address = (host.base_url.split("//")[1].split(":")[0], int(host.base_url.rsplit(":", 1)[1]))
    with caplog.at_level(logging.ERROR):
        for _ in range(5):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the answer cannot all be sent at once
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
                await loop.sock_sendall(sock, request)
                assert (await loop.sock_recv(sock, 12)).startswith(b"HTTP/1.1 200")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
            await asyncio.sleep(0.05)
        async with http.put(host.base_url + "/echo/7", data=b"after") as response:
            assert response.status == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_request_shaped_as_the_host_shapes_rpc_http(host: RunningHost, http: aiohttp.ClientSession) -> None:
    """Empty query values dropped, repeated headers joined with "," (as the .NET host builds RpcHttp)."""
    headers = [("X-Probe", "a"), ("X-Probe", "b")]
    async with http.get(f"{host.base_url}/echo/1?a=&b=z&b=", headers=headers) as response:
        payload = await response.json()
    assert (payload["query"], payload["header"]) == ({"b": "z,"}, "a,b")


async def test_the_function_gets_the_url_as_the_client_sent_it(host: RunningHost, http: aiohttp.ClientSession) -> None:
    """Scheme, Host, and the raw path and query (percent-escapes and all), as the host's RpcHttp.url."""
    target = "/echo/2/a%20b%2Fc?x=%C3%A9&y=1+2&x="
    async with http.get(yarl.URL(host.base_url + target, encoded=True)) as response:
        payload = await response.json()
    assert payload["url"] == host.base_url + target
    assert payload["route"] == {"item": "2", "rest": "a b/c"}


async def test_literal_route_and_plain_string_return(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{host.base_url}/ECHO/literal") as response:
        assert (response.status, await response.text(), response.content_type) == (200, "literal", "text/plain")


async def test_http_starter_and_check_status_links(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{host.base_url}/orchestrators/fan_out/fan-1", json=5) as response:
        assert response.status == 202
        links = await response.json()
        assert response.headers["Location"] == links["statusQueryGetUri"]
    assert links["id"] == "fan-1" and links["statusQueryGetUri"].startswith(
        f"{host.base_url}/runtime/webhooks/durabletask/instances/fan-1"
    )
    for _ in range(300):
        async with http.get(links["statusQueryGetUri"]) as response:
            if response.status == 200:
                status = await response.json()
                break
        await asyncio.sleep(0.02)
    assert (
        status["runtimeStatus"] == "Completed"
        and status["output"] == 20
        and status["customStatus"] == {"stage": "done"}
    )


async def test_real_client_operations(host: RunningHost) -> None:
    client = df.DurableOrchestrationClient(client_binding(host.base_url))
    iid = await client.start_new("approval", None, {"order": 42})
    running = await client.get_status(iid)
    assert running.input_ == '{"order": 42}'  # stored as JSON text, as the extension does
    await client.raise_event(iid, "Approve", {"by": "alice"})
    done = await wait_status(client, iid, "Completed")
    assert done.output == {"approved": True, "payload": '{"by": "alice"}'}
    with_history = await client.get_status(iid, show_history=True)
    assert with_history.history is None and len(with_history.historyEvents) > 4  # pitfall 11

    other = await client.start_new("timers", "to-stop", None)
    await client.terminate(other, "user cancelled")
    await client.terminate(other, "twice")  # 410, swallowed by the SDK
    stopped = await wait_status(client, other, "Terminated")
    assert stopped.output == "user cancelled"

    completed = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Completed])
    assert [s.instance_id for s in completed] == [iid]
    assert not await client.get_status("missing")
    with pytest.raises(Exception, match="doesn't exist, is disabled, or is not an orchestrator function"):
        await client.start_new("nope")
    assert (await client.purge_instance_history(other)).instances_deleted == 1
    assert (await client.purge_instance_history(other)).instances_deleted == 0
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises a bare Exception on 404
        await client.raise_event("missing", "Approve", 1)

    request = func.HttpRequest("GET", "http://example.org:9/api/x", body=b"")
    response = client.create_check_status_response(request, iid)
    links = json.loads(response.get_body())
    assert response.status_code == 202 and links["statusQueryGetUri"].startswith(
        "http://example.org:9/runtime/webhooks/durabletask/instances/"
    )


@pytest.mark.parametrize("instance_id", ["@entity", "a%5Cb", "a%23b", "x" * 300])
async def test_invalid_instance_ids_are_rejected(
    host: RunningHost, http: aiohttp.ClientSession, instance_id: str
) -> None:
    url = yarl.URL(f"{host.base_url}/durabletask/orchestrators/sequence/{instance_id}", encoded=True)
    async with http.post(url) as response:
        assert response.status == 400
        assert "Invalid instance ID" in (await response.json())["ExceptionMessage"]


async def test_start_with_invalid_json_is_400_and_running_duplicate_is_refused(
    host: RunningHost, http: aiohttp.ClientSession
) -> None:
    base = f"{host.base_url}/durabletask/orchestrators"
    async with http.post(
        f"{base}/sequence", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
    async with http.post(f"{base}/approval/dup") as response:
        assert response.status == 202
    async with http.post(f"{base}/approval/dup") as response:
        assert response.status == 500 and "already exists" in (await response.json())["ExceptionMessage"]
    async with http.delete(f"{host.base_url}/durabletask/instances/") as response:
        assert response.status == 400  # createdTimeFrom is required


@pytest.mark.parametrize("method", ["POST", "TRACE", "DELETE"])
async def test_405_names_the_allowed_methods(host: RunningHost, http: aiohttp.ClientSession, method: str) -> None:
    async with http.request(method, f"{host.base_url}/echo/7") as response:
        assert response.status == 405 and response.content_type == "application/problem+json"
        assert response.headers["Allow"] == "GET, PUT"


async def test_a_path_with_an_encoded_newline_gets_a_problem_not_a_plain_404(
    host: RunningHost, http: aiohttp.ClientSession
) -> None:
    url = yarl.URL(f"{host.base_url}/nowhere/%0A%F1%88%BC%A2", encoded=True)
    async with http.get(url) as response:
        assert response.status == 404 and response.content_type == "application/problem+json"


async def test_scheduler_store_error_is_served_on_devhost_scheduler_path(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """GET /_devhost/scheduler: 200 while the durable scheduler runs, 503 with the store's error while it
    backs off (the app's /v1/health cannot see devhost's loop), 200 again once the store answers."""
    running = await start_host(scenarios.app, tmp_path, timers=False)
    try:
        engine = running.engine
        url = f"{running.base_url}/_devhost/scheduler"
        async with http.get(url) as resp:
            assert resp.status == 200 and (await resp.json())["scheduler"]["state"] == "running"
        engine.store.conn.execute("PRAGMA busy_timeout=50")
        engine.scheduler.backoff_initial_seconds, engine.scheduler.backoff_max_seconds = 0.05, 0.1
        # Started, then locked out before the loop runs again (no await in between).
        iid = engine.client.start_new("sequence", "locked-host", None)
        holder = sqlite3.connect(tmp_path / "devhost.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for _ in range(500):
                async with http.get(url) as resp:
                    body = await resp.json()
                if resp.status == 503:
                    break
                await asyncio.sleep(0.01)
            assert resp.status == 503 and resp.headers["Cache-Control"] == "no-store"
            assert body["scheduler"]["state"] == "backing-off" and body["scheduler"]["healthy"] is False
            assert body["scheduler"]["last_error"] == "OperationalError: database is locked"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        client = df.DurableOrchestrationClient(client_binding(running.base_url, system_key=running.system_key))
        await wait_status(client, iid, "Completed")
        async with http.get(url) as resp:
            body = await resp.json()
        assert resp.status == 200 and body["scheduler"]["consecutive_failures"] == 0 and body["timers"] == []
    finally:
        await stop_host(running, grace_seconds=1)
