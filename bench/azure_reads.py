"""`python -m bench.azure_reads`: the API's reads on the Azure backends, sync clients on a thread vs aio awaited.

Two devhost processes serve the same stores (cosmosdb-server for the documents, Azurite for the files, a
one-region sample Gold DB backfilled for one month): one with STORE_READS_ASYNC=true (the read model on the
event loop, azure.cosmos.aio / azure.storage.blob.aio awaited), one with false (the sync SDK clients on a
worker thread, as before). Cells alternate between the two in one run, each a fixed-duration load at
concurrency c over HTTP; figures are printed per cell and as async/sync ratios. The emulators say nothing of
Azure's latencies (a cosmosdb-server point read costs ~25 ms of its own CPU); what compares is the two paths
on the same machine and stores, and the CPU per request of devhost's HTTP process (what an instance is
billed for and bounded by).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
from urllib3.exceptions import InsecureRequestWarning

from bench.http_load import run_cell
from devhost.testing import DevHost, new_api_keys

REGION = "11"
MONTH_DAYS = [f"2024-03-{d:02d}" for d in range(1, 32)]
BACKFILL_TIMEOUT_S = 600.0
MODES = ("sync", "async")  # STORE_READS_ASYNC false / true
INSECURE_WARNING_IGNORED = "ignore::urllib3.exceptions.InsecureRequestWarning"


def point_path(rng: random.Random) -> str:
    return f"/v1/production/regional/{REGION}/{rng.choice(MONTH_DAYS)}"


def range_path(rng: random.Random) -> str:
    return f"/v1/production/regional?region_code={REGION}&start_date=2024-03-01&end_date=2024-03-31&granularity=hour"


def export_path(rng: random.Random) -> str:
    return f"/v1/export/csv?region_code={REGION}&date={rng.choice(MONTH_DAYS)}"


# name -> (path factory, expected status)
CELLS: dict[str, tuple[Callable[[random.Random], str], int]] = {
    "point read": (point_path, 200),
    "31-day hourly range": (range_path, 200),
    "CSV link (302)": (export_path, 302),
}


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
    from stores.sample_data import build_sample_gold

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
    """One devhost per mode on the same emulator stores with March 2024 of region 11 materialized; the keys."""
    keys = new_api_keys()
    with emulators(workdir) as emu:
        gold = one_region_gold(workdir / "gold.sqlite")
        stores_env = emu.env("bench", "exports")
        hosts: dict[str, DevHost] = {}
        try:
            for mode in modes:
                env = {
                    **stores_env,
                    "GOLD_SQLITE_PATH": str(gold),
                    "STORE_READS_ASYNC": "true" if mode == "async" else "false",
                    # urllib3 (the sync clients) warns on every unverified HTTPS request to the emulator: its
                    # cost and stderr writes would be charged to the sync path alone.
                    "PYTHONWARNINGS": INSECURE_WARNING_IGNORED,
                }
                host = DevHost(workdir / f"devhost-{mode}", keys, extra_env=env)
                host.process.serve_args = ["--no-run-timers-at-start"]
                hosts[mode] = host.start()
                host.wait_ready()
            backfill_month(hosts[modes[0]], keys.operator)
            yield hosts, keys
        finally:
            for host in hosts.values():
                host.stop()


def process_cpu_seconds(host: DevHost) -> float:
    """User + system CPU of devhost's HTTP process (where the reads run; its activity workers idle here)."""
    assert host.process.process is not None
    times = psutil.Process(host.process.process.pid).cpu_times()
    return float(times.user + times.system)


def measure(hosts: dict[str, DevHost], reader_key: str, concurrency: int, duration_s: float, rounds: int) -> dict:
    """Cells alternated sync, async, sync, async... per read kind; the medians of each mode's rounds."""
    results: dict[str, dict[str, list[dict[str, Any]]]] = {name: {m: [] for m in hosts} for name in CELLS}
    headers = {"X-API-Key": reader_key, "Accept-Encoding": "gzip"}
    for name, (make_path, status) in CELLS.items():
        for mode in hosts:  # warm: the aio clients built, the rendered cache filled, connections open
            asyncio.run(run_cell(hosts[mode].base_url, headers, make_path, 4, expect_status=status, duration_s=1))
        for round_ in range(rounds):
            order = list(hosts) if round_ % 2 == 0 else list(reversed(hosts))
            for mode in order:
                cpu_before = process_cpu_seconds(hosts[mode])
                cell = asyncio.run(
                    run_cell(
                        hosts[mode].base_url,
                        headers,
                        make_path,
                        concurrency,
                        expect_status=status,
                        duration_s=duration_s,
                        seed=round_,
                    )
                )
                summary: dict[str, Any] = dict(cell.summary())
                answered = summary["requests"] or 1
                summary["cpu_us_per_request"] = (process_cpu_seconds(hosts[mode]) - cpu_before) / answered * 1e6
                results[name][mode].append(summary)
    return results


def _median(summaries: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in summaries if s.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


def report(results: dict, concurrency: int) -> str:
    lines = [
        f"Azure backends (cosmosdb-server + Azurite), c={concurrency}: medians of the rounds, sync-on-thread vs aio",
        f"{'cell':22} {'mode':6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>7}",
    ]
    for name, by_mode in results.items():
        for mode, summaries in by_mode.items():
            lines.append(
                f"{name:22} {mode:6} {_median(summaries, 'req_per_s')!s:>9} {_median(summaries, 'p50_ms')!s:>8} "
                f"{_median(summaries, 'p99_ms')!s:>8} {_median(summaries, 'cpu_us_per_request')!s:>11} "
                f"{sum(s['errors'] for s in summaries):>7}"
            )
        sync_rps, async_rps = _median(by_mode["sync"], "req_per_s"), _median(by_mode["async"], "req_per_s")
        if sync_rps and async_rps:
            sync_cpu = _median(by_mode["sync"], "cpu_us_per_request")
            async_cpu = _median(by_mode["async"], "cpu_us_per_request")
            cpu_ratio = f"{async_cpu / sync_cpu:.2f}" if sync_cpu and async_cpu else "n/a"
            lines.append(f"{name:22} async/sync: req/s {async_rps / sync_rps:.2f}, CPU per request {cpu_ratio}")
    return "\n".join(lines)


def inprocess_point_reads(workdir: Path, count: int = 300) -> dict[str, float]:
    """CPU (this process, µs) of one point read through the read store, called three ways in one loop run:
    the sync client on the calling thread, the aio client awaited by run_awaiting, the sync client via
    asyncio.to_thread (what an async trigger did before). Tells the SDK's cost from the thread hop's."""
    from core.settings import Settings
    from stores.bridge_aio import run_awaiting
    from stores.call_policy import Caller
    from stores.documents_cosmos import cosmos_container
    from stores.documents_cosmos_aio import awaiting_cosmos_store

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)  # as in the devhosts (see above)
    with emulators(workdir) as emu:
        settings = Settings(**emu.env("inprocess", "unused"))  # type: ignore[arg-type]
        store = awaiting_cosmos_store(settings, cosmos_container(settings, caller=Caller.reads))
        store.upsert({"id": "11:2024-03-31", "region_code": REGION, "doc_type": "day", "key": "2024-03-31"})
        figures: dict[str, float] = {}

        def timed(label: str, read: Callable[[], Any]) -> None:
            started = time.process_time()
            for _ in range(count):
                read()
            figures[label] = round((time.process_time() - started) / count * 1e6)

        for _ in range(20):
            store.get(REGION, "11:2024-03-31")
        timed("sync client, same thread", lambda: store.get(REGION, "11:2024-03-31"))

        async def on_loop() -> None:
            for _ in range(20):
                await run_awaiting(store.get, REGION, "11:2024-03-31")
            for label, make in (
                ("aio client, awaited", lambda: run_awaiting(store.get, REGION, "11:2024-03-31")),
                ("sync client, to_thread", lambda: asyncio.to_thread(store.get, REGION, "11:2024-03-31")),
            ):
                started = time.process_time()
                for _ in range(count):
                    await make()
                figures[label] = round((time.process_time() - started) / count * 1e6)
            await store.aclose()

        asyncio.run(on_loop())
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of one cell")
    parser.add_argument("--rounds", type=int, default=2, help="cells per mode and read kind (alternated)")
    parser.add_argument("--json", action="store_true", help="also print the raw summaries as JSON")
    parser.add_argument("--inprocess-only", action="store_true", help="only the in-process CPU of a point read")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-azure-inprocess-") as tmp:
        cpu = inprocess_point_reads(Path(tmp))
    print("In process, CPU per Cosmos point read (µs): " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
    if args.inprocess_only:
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="bench-azure-reads-") as tmp,
        azure_backed_devhosts(Path(tmp)) as (hosts, keys),
    ):
        results = measure(hosts, keys.reader, args.concurrency, args.seconds, args.rounds)
    print(report(results, args.concurrency))
    if args.json:
        print(json.dumps(results, default=str))
    print(f"({time.monotonic() - started:.0f} s in all)")
    errors = sum(s["errors"] for by_mode in results.values() for summaries in by_mode.values() for s in summaries)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
