"""The Durable HTTP API refuses browser pages of other sites, non-JSON bodies, and webhooks without the key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from devhost.host import RunningHost, start_host, stop_host
from devhost.webhook_guard import KEY_FILE, KEY_SETTING, system_key
from tests.fixtures.devhost_apps import scenarios

HOOK, RPC = "/runtime/webhooks/durabletask", "/durabletask"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[RunningHost]:
    running = await start_host(scenarios.app, tmp_path, timers=False)
    yield running
    await stop_host(running, grace_seconds=1)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_text_plain_cross_origin_post_starts_nothing(host: RunningHost, http: aiohttp.ClientSession) -> None:
    # What a page elsewhere can send without a preflight: a "simple" POST, text/plain, with its Origin.
    headers = {"Origin": "https://attacker.example", "Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}
    for path in (f"{RPC}/orchestrators/sequence/csrf", f"{HOOK}/orchestrators/sequence/csrf?code={host.system_key}"):
        async with http.post(host.base_url + path, data=b'"x"', headers=headers) as response:
            assert response.status == 403, path
    assert host.engine.client.get("csrf") is None


@pytest.mark.parametrize(
    ("headers", "body", "status", "says"),
    [
        ({"Origin": "http://localhost:3000"}, None, 403, "Cross-origin"),
        ({"Sec-Fetch-Site": "same-site"}, None, 403, "Sec-Fetch-Site"),
        ({"Sec-Fetch-Site": "cross-site"}, None, 403, "Sec-Fetch-Site"),
        ({"Host": "rebound.attacker.example:7071"}, None, 403, "loopback Host"),
        ({"Content-Type": "text/plain"}, b'"x"', 415, "application/json"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"a=1", 415, "application/json"),
        ({}, b'"x"', 415, "application/json"),  # a body without a type
    ],
)
async def test_refused_requests(
    host: RunningHost,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    says: str,
) -> None:
    url = f"{host.base_url}{RPC}/orchestrators/sequence/refused"
    async with http.post(url, data=body, headers=headers, skip_auto_headers=["Content-Type"]) as response:
        assert response.status == status
        assert says in (await response.json())["ExceptionMessage"]
    assert host.engine.client.get("refused") is None


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, None),  # the SDK's terminate/start without input: no body, no Origin
        ({"Content-Type": "application/json"}, b'{"a": 1}'),
        ({"Origin": "SELF", "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}, b"1"),
    ],
)
async def test_what_the_sdk_and_same_origin_pages_send_is_served(
    host: RunningHost, http: aiohttp.ClientSession, headers: dict[str, str], body: bytes | None
) -> None:
    headers = {k: (host.base_url if v == "SELF" else v) for k, v in headers.items()}
    async with http.post(f"{host.base_url}{RPC}/orchestrators/sequence", data=body, headers=headers) as response:
        assert response.status == 202


@pytest.mark.parametrize(
    ("credential", "status"),
    [
        ({}, 401),
        ({"params": {"code": "wrong"}}, 401),
        ({"headers": {"x-functions-key": "wrong"}}, 401),
        ({"params": {"code": "KEY"}}, 200),
        ({"headers": {"x-functions-key": "KEY"}}, 200),
    ],
)
async def test_webhooks_need_the_system_key_and_rpc_does_not(
    host: RunningHost, http: aiohttp.ClientSession, credential: dict[str, dict[str, str]], status: int
) -> None:
    given = {
        part: {k: host.system_key if v == "KEY" else v for k, v in values.items()}
        for part, values in credential.items()
    }
    async with http.get(f"{host.base_url}{HOOK}/instances", **given) as response:  # type: ignore[arg-type]
        assert response.status == status
    async with http.get(f"{host.base_url}{RPC}/instances") as response:
        assert response.status == 200


async def test_links_handed_out_carry_the_key(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{host.base_url}/orchestrators/sequence/linked") as response:  # the app's starter
        links = await response.json()
    assert all(f"code={host.system_key}" in links[k] for k in ("statusQueryGetUri", "terminatePostUri"))
    async with http.get(links["statusQueryGetUri"]) as response:
        assert response.status in (200, 202)


def test_the_key_comes_from_the_setting_or_stays_in_the_data_dir(tmp_path: Path) -> None:
    assert system_key(tmp_path, {KEY_SETTING: "fixed"}) == "fixed" and not (tmp_path / KEY_FILE).exists()
    first = system_key(tmp_path, {})
    assert len(first) >= 40 and system_key(tmp_path, {}) == first  # kept across restarts
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0  # owner-only
