"""Two devhost processes, one on the emulator stores (cosmosdb-server, Azurite), one on the embedded stores, with
March 2024 of one region materialized in each from the same Gold: the harness of
tests/e2e/test_devhost_azure_reads.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devhost.testing import DevHost, new_api_keys

REGION = "11"
MONTH_DAYS = [f"2024-03-{d:02d}" for d in range(1, 32)]
BACKFILL_TIMEOUT_S = 600.0
MODES = ("embedded", "azure")
INSECURE_WARNING_IGNORED = "ignore::urllib3.exceptions.InsecureRequestWarning"


@dataclass
class Emulators:
    """cosmosdb-server and Azurite, started by the integration tests' own launcher (tests/integration)."""

    cosmos: Any
    azurite: Any

    def env(self, database: str, container: str) -> dict[str, str]:
        return {
            "COSMOS_ENDPOINT": self.cosmos.endpoint,
            "COSMOS_KEY": self.cosmos.key,
            "COSMOS_VERIFY_TLS": "false",  # the emulator's self-signed certificate; emulator only
            "COSMOS_DATABASE": database,
            "COSMOS_CONTAINER": "aggregates",
            "BLOB_CONNECTION_STRING": self.azurite.connection_string,
            "BLOB_CONTAINER": container,
        }


@contextlib.contextmanager
def emulators(workdir: Path) -> Iterator[Emulators]:
    from tests.integration.emulators import missing_reason, start_azurite, start_cosmos

    reason = missing_reason()
    if reason is not None:
        raise RuntimeError(f"emulators unavailable: {reason}")
    cosmos = start_cosmos(workdir / "cosmos")
    try:
        azurite = start_azurite(workdir / "azurite")
        try:
            yield Emulators(cosmos, azurite)
        finally:
            azurite.stop()
    finally:
        cosmos.stop()


def one_region_gold(path: Path) -> Path:
    from localdev.sample_data import build_sample_gold

    build_sample_gold(path, years=1, region_codes=[REGION])
    return path


def backfill_month(host: DevHost, operator_key: str) -> None:
    """Materialize March 2024 of the region into the stores through the API (operator backfill)."""
    response = requests.post(
        f"{host.base_url}/v1/admin/backfills",
        json={"start_date": MONTH_DAYS[0], "end_date": MONTH_DAYS[-1], "region_codes": [REGION]},
        headers={"X-API-Key": operator_key},
        timeout=30,
    )
    if response.status_code != 202:
        raise RuntimeError(f"backfill refused: {response.status_code} {response.text[:300]}")
    instance_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    status = host.process.wait_for(instance_id, BACKFILL_TIMEOUT_S)
    if status["runtimeStatus"] != "Completed":
        raise RuntimeError(f"backfill {instance_id}: {status['runtimeStatus']}")


@contextlib.contextmanager
def azure_backed_devhosts(workdir: Path, modes: tuple[str, ...] = MODES) -> Iterator[tuple[dict[str, DevHost], Any]]:
    """One devhost per mode (its stores: embedded, or the emulators) with March 2024 of region 11 materialized in
    each; the keys."""
    keys = new_api_keys()
    with emulators(workdir) as emu:
        gold = one_region_gold(workdir / "gold.sqlite")
        stores_env = emu.env("bench", "exports")
        hosts: dict[str, DevHost] = {}
        try:
            for mode in modes:
                env = {
                    **(stores_env if mode == "azure" else {}),
                    "GOLD_SQLITE_PATH": str(gold),
                    # urllib3 (the sync clients) warns on every unverified HTTPS request to the emulator: its
                    # cost and stderr writes would be charged to the sync path alone.
                    "PYTHONWARNINGS": INSECURE_WARNING_IGNORED,
                }
                host = DevHost(workdir / f"devhost-{mode}", keys, extra_env=env)
                host.process.serve_args = ["--no-run-timers-at-start"]
                hosts[mode] = host.start()
                host.wait_ready()
            for host in hosts.values():
                backfill_month(host, keys.operator)
            yield hosts, keys
        finally:
            for host in hosts.values():
                host.stop()
