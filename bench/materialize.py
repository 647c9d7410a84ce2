"""`python -m bench.materialize`: the materialization alone, in this process, on the embedded stores.

Times a full materialization of the sample Gold (plan, every region-month batch on a pool of threads as
devhost runs them, the FR batches, commit with intensity-now, then the forecasts of every area touched) on a
fresh DATA_DIR, then a 1-day incremental, and prints the figures (each step's wall time apart: national_s and
forecast_s are what the carbon-aware steps add); `--profile`
adds the cProfile top functions of the batches. No devhost, no HTTP: what the domain and the stores cost.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.gold_data import cached_gold, copy_gold, fact_rows
from core.settings import Settings
from domain import forecast_materialization, materialization, national_materialization
from domain.intensity_now import write_intensity_now
from domain.national_plan import forecast_areas, national_batches
from stores.factory import build_stores

WORK_DIR = Path(".bench")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(stores: Any, request: dict[str, Any], workers: int, profile: cProfile.Profile | None) -> dict[str, Any]:
    started, cpu = time.perf_counter(), _cpu_seconds()
    plan = materialization.plan(stores.gold, stores.documents, request, parallelism=workers)
    planned = time.perf_counter()

    def batch(b: Any) -> Any:
        return materialization.materialize_batch(stores.gold, stores.documents, stores.files, b)

    if profile is not None:  # cProfile sees one thread: the batches run one after another in this one
        profile.enable()
        results = [batch(b) for b in plan["batches"]]
        profile.disable()
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(batch, plan["batches"]))
    batched, batched_cpu = time.perf_counter(), _cpu_seconds()

    def national_batch(b: Any) -> Any:
        return national_materialization.materialize_national(stores.documents, stores.files, b)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        national = list(pool.map(national_batch, national_batches(results)))
    nationals, nationals_cpu = time.perf_counter(), _cpu_seconds()
    summary = materialization.commit(stores.documents, plan, results + national, now="bench", instance_id="bench")
    write_intensity_now(stores.documents, datetime.now(UTC).isoformat())
    committed, committed_cpu = time.perf_counter(), _cpu_seconds()

    def forecast(code: str) -> Any:
        return forecast_materialization.materialize_forecast(stores.documents, code, "bench")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        forecasts = list(pool.map(forecast, forecast_areas(results + national)))
    done = time.perf_counter()
    wall = done - started
    return {
        "plan_s": round(planned - started, 3),
        "batches_s": round(batched - planned, 3),
        "national_s": round(nationals - batched, 3),
        "commit_s": round(committed - nationals, 3),
        "forecast_s": round(done - committed, 3),
        "forecasts_written": sum(1 for f in forecasts if f["written"]),
        # CPU seconds of the process per step (steadier than wall time when other processes share the cores):
        # regional = plan + batches, then what the FR batches and the forecasts add.
        "regional_cpu_s": round(batched_cpu - cpu, 2),
        "national_cpu_s": round(nationals_cpu - batched_cpu, 2),
        "commit_cpu_s": round(committed_cpu - nationals_cpu, 2),
        "forecast_cpu_s": round(_cpu_seconds() - committed_cpu, 2),
        "total_s": round(wall, 3),
        "cpu_s": round(_cpu_seconds() - cpu, 2),  # steadier than wall time on a shared machine
        "cpu_percent": round(100 * (_cpu_seconds() - cpu) / wall, 1) if wall else None,
        "batches": len(plan["batches"]),
        "days_written": summary["days_written"],
    }


def _touch_one_day(gold: Path) -> None:
    """A new edition of one region-day in Gold (loaded_at after everything), as an import would write it."""
    with sqlite3.connect(gold) as conn:
        conn.execute(
            "UPDATE FACT_ENERGY_FLOW SET valeur_mw = valeur_mw + 1, loaded_at = '2999-01-01T00:00:00.000000Z' "
            "WHERE id_region = 11 AND id_source = 4 AND id_date IN "
            "(SELECT id_date FROM DIM_TIME WHERE date_locale = (SELECT MAX(date_locale) FROM DIM_TIME))"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.materialize", description=__doc__)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--workers", type=int, default=8, help="threads running batches (devhost's default: 8)")
    parser.add_argument("--profile", action="store_true", help="cProfile top of the batches, run in one thread")
    args = parser.parse_args(argv)

    cached, _ = cached_gold(WORK_DIR / "gold", args.years, args.last_year, seed=7)
    data_dir = WORK_DIR / f"materialize-{args.years}y-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    gold = copy_gold(cached, data_dir / "gold.sqlite")
    try:
        stores = build_stores(Settings(DATA_DIR=data_dir))
        profile = cProfile.Profile() if args.profile else None
        rows = fact_rows(gold)
        print(f"{rows:,} fact rows, {args.years} year(s), {args.workers} worker threads, {os.cpu_count()} CPUs")
        full = _run(stores, {"mode": "incremental"}, args.workers, profile)
        print(f"full materialization: {full}")
        _touch_one_day(gold)
        one_day = _run(stores, {"mode": "incremental"}, args.workers, None)
        print(f"1-day incremental:    {one_day}")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
        if profile is not None:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
