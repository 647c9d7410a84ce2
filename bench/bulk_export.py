"""`python -m bench.bulk_export`: sizes and build times of the bulk export files, 1 year x 12 regions.

Materializes the sample Gold (embedded stores, in this process, not timed here), then builds through
domain.bulk_export what a first request builds: every region's year file and the all-regions year file, CSV
and Parquet, on a cold file store; then asks for them again (warm: the version check a request pays when
the file exists); then changes one region-day in Gold, runs the incremental materialization and rebuilds the
all-regions Parquet year (one month part is read from documents, the rest concatenated). Times are wall
seconds of one run on this machine: compare them with each other, not across machines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench.gold_data import cached_gold, copy_gold, touch_day
from bench.table import render
from core.settings import Settings
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk_export", description=__doc__)
    parser.add_argument("--year", type=int, default=2024)
    args = parser.parse_args(argv)
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
