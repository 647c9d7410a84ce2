"""`python -m bench.worker_idle`: what stopping idle activity workers saves and costs (DEVHOST_WORKER_IDLE_SECONDS).

devhost starts on a fresh DATA_DIR holding the cached sample Gold; its at-start timer materializes everything.
Then, `--rounds` times: a 1-day incremental run while the worker processes are warm (just used), a wait until
the idle timer has stopped them, and the same run again, which starts new ones. Printed: the RSS of the tree
(devhost + workers) and of devhost's process alone with warm workers and once they are stopped, and for each
incremental run its wall time (POST to Completed) and the CPU seconds of the whole tree over it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any

import psutil

from bench import durable
from bench.backfill_processes import TreeCpu
from bench.gold_data import cached_gold, copy_gold, touch_day
from devhost.testing import DevHost, new_api_keys
from devhost.worker_pool import IDLE_SETTING

WORK_DIR = Path(".bench")
REGION = "84"
DAYS = ("06-15", "06-16", "06-17", "06-18", "06-19", "06-20")  # a different summer day for each run


def _workers(host: DevHost) -> list[psutil.Process]:
    assert host.process.process is not None
    return psutil.Process(host.process.process.pid).children(recursive=True)


def _incremental(host: DevHost, cpu: TreeCpu, gold: Path, day: str, previous: str | None) -> dict[str, Any]:
    touch_day(gold, REGION, day)
    started_wall, started = time.time(), time.perf_counter()
    durable.start_incremental(host.base_url)
    status = durable.wait_completed(host.base_url, not_created=previous, timeout=300, poll=0.02)
    seconds = time.perf_counter() - started
    time.sleep(0.3)  # one more CPU sample after the end
    return {
        "wall_s": round(seconds, 3),
        "tree_cpu_s": round(cpu.at(time.time()) - cpu.at(started_wall), 2),
        "workers_after": len(_workers(host)),
        "days_written": (status.get("output") or {}).get("days_written"),  # 1: the run did materialize the day
        "created": status.get("createdTime"),
    }


def _rss(host: DevHost) -> str:
    return f"tree {host.rss_now_mib()} MiB, HTTP process {host.rss_now_mib(tree=False)} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_idle", description=__doc__)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="DEVHOST_WORKER_IDLE_SECONDS of the run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    gold, _ = cached_gold(WORK_DIR / "gold", args.years, args.last_year, seed=7)
    data_dir = WORK_DIR / f"worker-idle-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_gold = copy_gold(gold, data_dir / "gold.sqlite")
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}, {IDLE_SETTING}={args.idle_seconds}", flush=True)
    try:
        with DevHost(data_dir, new_api_keys(), extra_env={IDLE_SETTING: str(args.idle_seconds)}) as host:
            assert host.process.process is not None
            cpu = TreeCpu(host.process.process.pid).start()
            host.wait_ready()
            previous = durable.wait_completed(host.base_url, timeout=1800, poll=0.2).get("createdTime")
            print(f"after the full backfill, warm workers ({len(_workers(host))}): {_rss(host)}", flush=True)
            days = iter(DAYS * args.rounds)
            for round_no in range(1, args.rounds + 1):
                warm = _incremental(host, cpu, data_gold, f"{args.last_year}-{next(days)}", previous)
                previous = warm.pop("created")
                print(f"round {round_no} warm incremental: {warm}; {_rss(host)}", flush=True)
                waited = time.perf_counter()
                while _workers(host):
                    if time.perf_counter() - waited > args.idle_seconds + 60:
                        raise RuntimeError(f"workers still running {args.idle_seconds + 60:.0f} s after the last run")
                    time.sleep(0.2)
                stopped = round(time.perf_counter() - waited, 1)
                print(f"round {round_no} workers gone {stopped} s after the run: {_rss(host)}", flush=True)
                cold = _incremental(host, cpu, data_gold, f"{args.last_year}-{next(days)}", previous)
                previous = cold.pop("created")
                print(f"round {round_no} cold incremental (new workers): {cold}; {_rss(host)}", flush=True)
            cpu.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
