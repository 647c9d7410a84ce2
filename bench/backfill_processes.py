"""`python -m bench.backfill_processes`: the full materialization through devhost with 1 and N worker processes.

For each configuration `P:T` (P = FUNCTIONS_WORKER_PROCESS_COUNT, T = PYTHON_THREADPOOL_THREAD_COUNT, 0 = unset;
`A` after a slash = --activity-workers, the in-flight limit), devhost starts on a fresh DATA_DIR holding the
cached sample Gold; its at-start timer materializes everything. Printed per run: the orchestration's duration,
the CPU used by devhost and its worker processes over that span (as % of one core: 200 % = both cores busy),
and the peak RSS of the process tree. Configurations alternate `--rounds` times, so machine noise hits all.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import os
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from bench import durable
from bench.gold_data import cached_gold, copy_gold, fact_rows
from devhost.testing import DevHost, new_api_keys
from devhost.worker_pool import NICE_SETTING as NICE

WORK_DIR = Path(".bench")


class TreeCpu:
    """Samples (wall clock, CPU seconds of a process and its descendants) every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self._root = psutil.Process(pid)
        self._seen: dict[int, float] = {}  # last CPU seconds of every process seen (ended workers included)
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[tuple[float, float]] = []
        self.host_samples: list[tuple[float, float]] = []  # the root process alone (devhost's HTTP process)
        self._thread = threading.Thread(target=self._run, name="tree-cpu", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                for proc in [self._root, *self._root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        times = proc.cpu_times()
                        self._seen[proc.pid] = times.user + times.system
                now = time.time()
                self.samples.append((now, sum(self._seen.values())))
                self.host_samples.append((now, self._seen.get(self._root.pid, 0.0)))
            self._stop.wait(self._interval)

    def start(self) -> TreeCpu:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def at(self, instant: float, *, host_only: bool = False) -> float:
        """CPU seconds at `instant` (the nearest sample at or after it), of the tree or of the root alone."""
        samples = self.host_samples if host_only else self.samples
        times = [t for t, _ in samples]
        i = min(bisect.bisect_left(times, instant), len(samples) - 1)
        return samples[i][1]


def _epoch(text: Any) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def run_once(gold: Path, processes: int, threads: int, activities: int | None) -> dict[str, Any]:
    data_dir = WORK_DIR / f"procs-{processes}-{threads}-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    copy_gold(gold, data_dir / "gold.sqlite")
    # Nothing reads during this bench: the workers at the host's priority (unless the caller sets it), so on a
    # shared machine the figure measures the materialization, not how much CPU other work leaves a niced tree.
    env = {"FUNCTIONS_WORKER_PROCESS_COUNT": str(processes), "DEVHOST_WORKER_NICE": os.environ.get(NICE, "0")}
    if threads:
        env["PYTHON_THREADPOOL_THREAD_COUNT"] = str(threads)
    try:
        host = DevHost(data_dir, new_api_keys(), extra_env=env)
        if activities:
            host.process.serve_args = ["--activity-workers", str(activities)]
        with host:
            assert host.process.process is not None
            cpu = TreeCpu(host.process.process.pid).start()
            host.wait_ready()
            status = durable.wait_completed(host.base_url, timeout=1800, poll=0.2)
            time.sleep(0.3)  # one more CPU sample after the end
            cpu.stop()
            created, updated = _epoch(status["createdTime"]), _epoch(status["lastUpdatedTime"])
            seconds = updated - created
            used = cpu.at(updated) - cpu.at(created)
            return {
                "processes": processes,
                "threads": threads or "default",
                "in_flight": activities or "host.json",
                "backfill_s": round(seconds, 2),
                "cpu_s": round(used, 1),
                "cpu_percent": round(100 * used / seconds, 1) if seconds else None,
                # devhost's own process (HTTP, scheduler, orchestrator replays); the rest is its worker processes
                "host_cpu_s": round(cpu.at(updated, host_only=True) - cpu.at(created, host_only=True), 1),
                "peak_rss_mib": host.rss.peak_mib if host.rss else None,
                "days_written": (status.get("output") or {}).get("days_written"),
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _config(text: str) -> tuple[int, int, int | None]:
    head, _, in_flight = text.partition("/")
    processes, _, threads = head.partition(":")
    return int(processes), int(threads or 0), int(in_flight) if in_flight else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill_processes", description=__doc__)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--configs", default="1:0,2:0", help="comma-separated P:T[/A] (default: 1:0,2:0)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    gold, _ = cached_gold(WORK_DIR / "gold", args.years, args.last_year, seed=7)
    print(f"{fact_rows(gold):,} fact rows, {args.years} year(s), {os.cpu_count()} CPUs, load {os.getloadavg()}")
    for _ in range(args.rounds):
        for config in args.configs.split(","):
            print(run_once(gold, *_config(config)), flush=True)
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
