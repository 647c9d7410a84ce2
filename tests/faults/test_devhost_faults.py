"""The documents store failing under the real app on devhost, over real HTTP: 503 problem+json, then recovery.

devhost serves the app with its documents in cosmosdb-server behind a FaultProxy (the one of the fault matrix);
it materializes the small Gold at start through the proxy. Each fault is then armed until cleared while a
client reads a day document over HTTP from devhost: a 503 problem+json with Retry-After and the request id,
within the read deadline, and the same document once the fault is cleared.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from core.settings import Settings
from devhost.testing import DevhostProcess, devhost_env, free_port, new_api_keys
from stores.call_policy import Caller, call_policy
from tests.faults.lab import DAY, READ_MARGIN_SECONDS, SHORT_SETTINGS
from tests.faults.proxy import FAULT_KINDS, FaultKind, FaultProxy
from tests.integration import emulators
from tests.integration.emulators import SELF_SIGNED_CERT, SELF_SIGNED_KEY, start_cosmos
from tests.unit.stores.test_gold import SMALL_GOLD, build_small_gold

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
MATERIALIZED_TIMEOUT = 180.0
READ_SETTINGS = {
    k: v
    for k, v in SHORT_SETTINGS.items()
    if k.startswith("STORE_READ") or k in ("STORE_RETRY_AFTER_SECONDS", "DOCUMENT_CACHE_MIB")
}
READ_DEADLINE = call_policy(Settings(**READ_SETTINGS), Caller.reads).deadline_seconds + READ_MARGIN_SECONDS


@dataclass
class FaultedDevhost:
    devhost: DevhostProcess
    proxy: FaultProxy
    reader_key: str

    def read_day(self) -> requests.Response:
        region, day = DAY
        url = f"{self.devhost.base_url}/v1/production/regional/{region}/{day}"
        return requests.get(url, headers={"X-API-Key": self.reader_key}, timeout=30)


@pytest.fixture(scope="module")
def faulted_devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultedDevhost]:
    reason = emulators.missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"emulators unavailable under CI: {reason}", pytrace=False)
        pytest.skip(f"emulators unavailable: {reason}")
    workdir = tmp_path_factory.mktemp("devhost-faults")
    cosmos = start_cosmos(workdir / "cosmos")
    proxy = FaultProxy(cosmos.endpoint, tls=True, cert=SELF_SIGNED_CERT, key=SELF_SIGNED_KEY).start()
    keys = new_api_keys()
    data_dir = workdir / "data"
    env = devhost_env(
        data_dir,
        API_KEYS=keys.env_value,
        COSMOS_ENDPOINT=proxy.url + "/",
        COSMOS_KEY=cosmos.key,
        COSMOS_VERIFY_TLS="false",  # the emulator's self-signed certificate, re-served by the proxy
        COSMOS_DATABASE="devhost-faults",
        GOLD_SQLITE_PATH=str(build_small_gold(workdir / "gold.sqlite", SMALL_GOLD)),
        **{k: str(v) for k, v in READ_SETTINGS.items()},
    )
    devhost = DevhostProcess(data_dir, free_port(), [], env)
    try:
        devhost.start()
        result = devhost.wait_for("materialize-incremental", MATERIALIZED_TIMEOUT)
        assert result["runtimeStatus"] == "Completed", result
        yield FaultedDevhost(devhost, proxy, keys.reader)
    finally:
        if devhost.process is not None:
            devhost.stop()
        proxy.stop()
        cosmos.stop()


@pytest.mark.parametrize("fault", FAULT_KINDS)
def test_a_documents_fault_is_a_503_problem_then_the_day_again(
    faulted_devhost: FaultedDevhost, fault: FaultKind
) -> None:
    before = faulted_devhost.read_day()
    assert before.status_code == 200, before.text[:300]
    proxy = faulted_devhost.proxy
    proxy.arm_until_cleared(fault)
    started = time.monotonic()
    try:
        during = faulted_devhost.read_day()
    finally:
        elapsed = time.monotonic() - started
        proxy.clear()
    assert proxy.faulted >= 1, "the read never reached the store"
    assert during.status_code == 503, during.text[:300]
    assert during.headers["Content-Type"].startswith("application/problem+json")
    assert during.headers["Retry-After"].isdigit()
    problem = during.json()
    assert problem["status"] == 503 and problem["request_id"] == during.headers["X-Request-ID"]
    assert "documents" in problem["detail"]
    assert elapsed <= READ_DEADLINE, f"answered after {elapsed:.2f} s > {READ_DEADLINE:.2f} s"
    after = faulted_devhost.read_day()
    assert (after.status_code, after.content) == (200, before.content)
