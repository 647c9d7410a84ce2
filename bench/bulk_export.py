"""`python -m bench.bulk_export`: sizes and build times of the bulk export files, 1 year x 12 regions.

Materializes the sample Gold (embedded stores, in this process, not timed here), then builds through
domain.bulk_export what a first request builds: every region's year file and the all-regions year file, CSV
and Parquet, on a cold file store; then asks for them again (warm: the version check a request pays when
the file exists); then changes one region-day in Gold, runs the incremental materialization and rebuilds the
all-regions Parquet year (one month part is read from documents, the rest concatenated). Times are wall
seconds of one run on this machine: compare them with each other, not across machines.

`--concurrent N`: exports under load, over real HTTP. A devhost on the sample Gold materializes at start; then N
identical requests for the unbuilt all-regions year (`--format`) go at once while one client polls a day's
point read. Printed: each request's status and wall time, the versioned files written, the CPU seconds of
devhost's process tree over the burst, its peak RSS during it and its RSS 5 s after, and the point reads' p95.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench import run as durable
from bench.backfill_processes import TreeCpu
from bench.gold_data import cached_gold, copy_gold, touch_day
from bench.report import render
from core.settings import Settings
from devhost.testing import DevHost, new_api_keys
from domain import materialization
from domain.bulk_export import BulkExports, ExportSpec, Format
from domain.regions import REGIONS
from stores.factory import build_stores

WORK_DIR = Path(".bench")


def _materialize(stores: Any) -> int:
    plan = materialization.plan(stores.gold, stores.documents, {"mode": "incremental"}, parallelism=8)
    results = [
        materialization.materialize_batch(stores.gold, stores.documents, stores.files, batch)
        for batch in plan["batches"]
    ]
    materialization.commit(stores.documents, plan, results)
    return sum(r["days_written"] for r in results)


def _timed(exports: BulkExports, spec: ExportSpec) -> tuple[str, float]:
    """(file name, wall seconds) of what a request for `spec` does: find the version, build when absent."""
    started = time.perf_counter()
    name = exports.file_for(spec)
    if name is None:
        raise RuntimeError("no data for a file the sample covers")
    return name, time.perf_counter() - started


def _point_reads(base_url: str, key: str, path: str, stop: threading.Event) -> list[float]:
    """Wall ms of point reads of one day, back to back until `stop` (what other callers see meanwhile)."""
    latencies: list[float] = []
    with requests.Session() as session:
        while not stop.is_set():
            started = time.perf_counter()
            session.get(base_url + path, headers={"X-API-Key": key}, timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)
            stop.wait(0.05)
    return latencies


def _bulk_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in (data_dir / "files" / "bulk").rglob("*") if p.is_file() and not p.name.startswith("."))


def concurrent(year: int, count: int, fmt: str) -> int:
    """`count` identical requests for the all-regions year at once, on a devhost over the sample Gold."""
    cached, _ = cached_gold(WORK_DIR / "gold", 1, year, seed=7)
    data_dir = WORK_DIR / f"bulk-concurrent-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    copy_gold(cached, data_dir / "gold.sqlite")
    keys = new_api_keys()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}", flush=True)
    try:
        with DevHost(data_dir, keys) as host:
            assert host.process.process is not None and host.rss is not None
            host.wait_ready()
            durable.wait_completed(host.base_url, timeout=1800, poll=0.2)
            time.sleep(2)  # the workers' last writes; then the tree idles
            cpu = TreeCpu(host.process.process.pid).start()
            rss_before = host.rss_now_mib()
            host.rss.reset()
            stop = threading.Event()
            with ThreadPoolExecutor(count + 1) as pool:
                day = f"/v1/production/regional/32/{year}-06-15"
                reads = pool.submit(_point_reads, host.base_url, keys.reader, day, stop)

                def one(_: int) -> tuple[int, float, str]:
                    started = time.perf_counter()
                    resp = requests.get(
                        f"{host.base_url}/v1/export/csv",
                        params={"year": str(year), "format": fmt},
                        headers={"X-API-Key": keys.reader},
                        allow_redirects=False,
                        timeout=900,
                    )
                    location = resp.headers.get("Location", "").split("?")[0]
                    return resp.status_code, time.perf_counter() - started, location or resp.text[:120]

                burst_wall, burst = time.time(), time.perf_counter()
                answers = list(pool.map(one, range(count)))
                burst_s = time.perf_counter() - burst
                stop.set()
                latencies = reads.result()
            time.sleep(0.3)  # one more CPU sample after the end
            cpu_s = cpu.at(time.time()) - cpu.at(burst_wall)
            peak = host.rss.peak_mib
            time.sleep(5)
            rss_after = host.rss_now_mib()
            cpu.stop()
            for status, seconds, where in answers:
                print(f"  {status} in {seconds:.1f} s -> {where.rsplit('/_files/', 1)[-1]}")
            files = _bulk_files(data_dir)
            p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else float("nan")
            print(
                f"{count} x /v1/export/csv?year={year}&format={fmt}: burst {burst_s:.1f} s, tree CPU {cpu_s:.1f} s, "
                f"RSS {rss_before} MiB before, peak {peak} MiB, {rss_after} MiB 5 s after; "
                f"{len(files)} files under bulk/ ({sum(f.stat().st_size for f in files) / 1e6:.1f} MB); "
                f"{len(latencies)} point reads meanwhile, p95 {p95:.0f} ms",
                flush=True,
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk_export", description=__doc__)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--concurrent", type=int, default=0, help="N identical requests over HTTP (0: the table)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet", help="of --concurrent")
    args = parser.parse_args(argv)
    if args.concurrent:
        return concurrent(args.year, args.concurrent, args.format)
    year = str(args.year)

    cached, _ = cached_gold(WORK_DIR / "gold", 1, args.year, seed=7)
    data_dir = WORK_DIR / f"bulk-export-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    gold = copy_gold(cached, data_dir / "gold.sqlite")
    try:
        stores = build_stores(Settings(DATA_DIR=data_dir))
        started = time.perf_counter()
        days = _materialize(stores)
        print(f"materialized {days} region-days in {time.perf_counter() - started:.1f} s (not part of the figures)")
        exports = BulkExports(stores.documents, stores.files)

        def size(name: str) -> int:
            data = stores.files.read(name)
            return len(data) if data is not None else 0

        rows: list[list[Any]] = []
        formats: tuple[Format, ...] = ("csv", "parquet")
        for fmt in formats:
            # Each region's year, then every region in one file (Parquet: from the region files just built).
            per_region = [_timed(exports, ExportSpec(fmt, year, r.code)) for r in REGIONS]
            all_name, all_cold = _timed(exports, ExportSpec(fmt, year, None))
            _, all_warm = _timed(exports, ExportSpec(fmt, year, None))
            region_sizes = [size(n) for n, _ in per_region]
            rows.append(
                [
                    f"{fmt} year, 1 region (mean of 12)",
                    sum(region_sizes) / len(region_sizes) / 1e6,
                    sum(t for _, t in per_region) / len(per_region),
                    None,
                ]
            )
            rows.append([f"{fmt} year, 12 regions (one file)", size(all_name) / 1e6, all_cold, all_warm])

        # From nothing: a fresh file store, so the all-regions Parquet year builds its 144 month parts too.
        fresh = BulkExports(stores.documents, build_stores(Settings(DATA_DIR=data_dir / "fresh")).files)
        name, from_scratch = _timed(fresh, ExportSpec("parquet", year, None))
        rows.append(["parquet year, 12 regions, from nothing", size(name) / 1e6, from_scratch, None])

        touch_day(gold, "32", f"{year}-06-15")
        _materialize(stores)
        name, rebuilt = _timed(exports, ExportSpec("parquet", year, None))
        rows.append(["parquet year, 12 regions, after 1 day changed", size(name) / 1e6, rebuilt, None])

        print(render(["file", "size MB", "build s (cold)", "request s (warm)"], rows))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
