"""Point-read latency of both document stores on a realistic day document (not a test; run it by hand).

    .venv/bin/python -m tests.integration.stores.point_reads

Embedded SQLite store in-process, then the Cosmos emulator (cosmosdb-server, HTTPS on localhost). The
emulator figure says nothing about Cosmos DB itself.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.settings import Settings
from stores.documents_cosmos import CosmosDocumentStore, cosmos_container
from stores.documents_embedded import EmbeddedDocumentStore
from stores.ports import DocumentStore
from tests.integration.emulators import start_cosmos

SOURCES = ("nucleaire", "thermique", "hydraulique", "eolien", "solaire", "bioenergies")
DAYS = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]


def day_doc(region: str, day: str) -> dict[str, Any]:
    """About the size of a materialized day: 48 half-hours with every source."""
    series = [
        {
            "timestamp": f"{day}T{h // 2:02d}:{30 * (h % 2):02d}:00+01:00",
            "production_mw": 5000.5 + h,
            "consumption_mw": 6000.25,
            "sources": {s: 100.0 + h for s in SOURCES},
            "facteur_charge": {s: 12.5 for s in SOURCES},
            "carbon_intensity_g_per_kwh": 35.2,
        }
        for h in range(48)
    ]
    return {"id": f"{region}:{day}", "region_code": region, "doc_type": "day", "key": day, "series": series}


def timed_reads(store: DocumentStore, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        store.get("11", f"11:{DAYS[i % len(DAYS)]}")
        latencies.append(time.perf_counter() - start)
    return latencies


def report(label: str, latencies: list[float]) -> None:
    latencies = sorted(latencies)
    p95 = latencies[int(0.95 * len(latencies))]
    print(f"{label}: median {statistics.median(latencies) * 1e6:.0f} us, p95 {p95 * 1e6:.0f} us, n={len(latencies)}")


def main() -> None:
    warnings.filterwarnings("ignore")  # the emulator's self-signed certificate
    workdir = Path(tempfile.mkdtemp(prefix="point-reads-"))
    embedded = EmbeddedDocumentStore(workdir / "documents.sqlite")
    for day in DAYS:
        embedded.upsert(day_doc("11", day))
    timed_reads(embedded, 1000)  # warm the page cache and the statement cache
    report("embedded get (1 thread)", timed_reads(embedded, 20_000))
    with ThreadPoolExecutor(4) as pool:
        start = time.perf_counter()
        list(pool.map(lambda _: timed_reads(embedded, 5000), range(4)))
    print(f"embedded get (4 threads, GIL-bound): {20_000 / (time.perf_counter() - start):.0f} reads/s")

    server = start_cosmos(workdir / "cosmos")
    try:
        settings = Settings(COSMOS_ENDPOINT=server.endpoint, COSMOS_KEY=server.key, COSMOS_VERIFY_TLS=False)
        cosmos = CosmosDocumentStore(cosmos_container(settings))
        for day in DAYS:
            cosmos.upsert(day_doc("11", day))
        timed_reads(cosmos, 20)
        report("cosmos emulator get", timed_reads(cosmos, 300))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
