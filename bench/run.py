"""The benchmark run: materialization, API latency, on-demand baseline, growth and load test, in one go."""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.gold_data import cached_gold, copy_gold, fact_rows, touch_day
from bench.http_load import linear_fit
from bench.inprocess import run_in_child
from bench.load_test import run_load_test
from bench.measure import api_cells, floor_cells, ondemand_cells, paired_ratios
from bench.shapes import SHAPES, Span
from devhost.testing import REPO_ROOT, ApiKeys, DevHost, new_api_keys
from orchestrations.names import INCREMENTAL_INSTANCE_ID, ORCHESTRATOR

GROWTH_SHAPES = ("point_read", "range_31d_hourly")
GROWTH_CONCURRENCY = 16
INCREMENTAL_REGION, INCREMENTAL_DAY = "84", "06-15"  # a summer day of the last year
FLOOR_REGION, FLOOR_DAY = "11", "03-31"  # the document (a spring DST day in 2024)
FLOOR_RANGE_SHAPES, FLOOR_SEED = ("range_31d_hourly", "range_1y_daily"), 11


# --- The Durable HTTP API of devhost: orchestration status, waiting for completion, starting an incremental run.

# devhost's local RPC endpoint (what the SDK's client calls; no key): the webhooks need the system key.
RUNTIME = "/durabletask"
FAILED = {"Failed", "Terminated", "Canceled"}


def status_path(instance_id: str = INCREMENTAL_INSTANCE_ID) -> str:
    return f"{RUNTIME}/instances/{instance_id}"


def get_status(
    base_url: str, instance_id: str = INCREMENTAL_INSTANCE_ID, *, history: bool = False
) -> dict[str, Any] | None:
    """The instance status JSON, or None while the instance does not exist yet."""
    params = {"showHistory": "true"} if history else None
    resp = requests.get(base_url + status_path(instance_id), params=params, timeout=10)
    if resp.status_code == 404:
        return None
    if resp.status_code not in (200, 202):
        raise RuntimeError(f"status of {instance_id}: HTTP {resp.status_code} {resp.text[:200]}")
    body: dict[str, Any] = resp.json()
    return body


def wait_completed(
    base_url: str,
    instance_id: str = INCREMENTAL_INSTANCE_ID,
    *,
    not_created: str | None = None,
    timeout: float = 1800.0,
    poll: float = 0.1,
) -> dict[str, Any]:
    """Poll until the instance (a run other than the one created at `not_created`) is Completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = get_status(base_url, instance_id)
        if status is not None and status.get("createdTime") != not_created:
            runtime_status = status.get("runtimeStatus")
            if runtime_status == "Completed":
                return status
            if runtime_status in FAILED:
                raise RuntimeError(f"{instance_id} ended {runtime_status}: {status.get('output')}")
        time.sleep(poll)
    raise TimeoutError(f"{instance_id} not completed after {timeout:.0f} s")


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_seconds(status: dict[str, Any]) -> float | None:
    """createdTime → lastUpdatedTime of a finished instance: the orchestration's own duration."""
    created, updated = _instant(status.get("createdTime")), _instant(status.get("lastUpdatedTime"))
    if created is None or updated is None:
        return None
    return round((updated - created).total_seconds(), 3)


def activities_run(status_with_history: dict[str, Any] | None, output: dict[str, Any] | None) -> int | None:
    """Activities completed, from the history when it is there, else plan + batches + commit from the output."""
    history = (status_with_history or {}).get("historyEvents")
    if isinstance(history, list) and history:
        # EventType is the Durable enum: its name in some hosts, its number (TaskCompleted = 5) in others.
        return sum(1 for e in history if isinstance(e, dict) and e.get("EventType") in ("TaskCompleted", 5))
    if output and isinstance(output.get("batches"), int):
        return output["batches"] + 2
    return None


def start_incremental(base_url: str) -> None:
    """Start the singleton incremental instance through the Durable HTTP API (as the timer would)."""
    url = f"{base_url}{RUNTIME}/orchestrators/{ORCHESTRATOR}/{INCREMENTAL_INSTANCE_ID}"
    resp = requests.post(url, json={"mode": "incremental"}, timeout=10)
    if resp.status_code not in (200, 201, 202):
        raise RuntimeError(f"starting {INCREMENTAL_INSTANCE_ID}: HTTP {resp.status_code} {resp.text[:200]}")


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class Options:
    years: int = 1
    last_year: int = 2024
    seed: int = 7
    growth: list[int] = field(default_factory=lambda: [1, 3, 10])
    concurrencies: list[int] = field(default_factory=lambda: [1, 16, 64])
    duration_s: float = 8.0
    max_requests: int = 200_000
    ondemand_iterations: int = 200
    ondemand_max_s: float = 30.0
    paired_rounds: int = 30
    load_seconds: float = 60.0
    load_concurrency: int = 64
    growth_duration_s: float = 5.0
    work_dir: Path = REPO_ROOT / ".bench"
    out: Path = REPO_ROOT / ".bench" / "results.json"
    rebuild_gold: bool = False
    keep_data: bool = False
    skip_load_test: bool = False
    client: str = "aiohttp"  # or "wrk" (when on PATH) for the latency cells
    floor_rounds: int = 5  # rounds of (API, floor) cells: the ratio is the median of the rounds' own
    floor_duration_s: float = 4.0
    inprocess_requests: int = 2000
    # Stages after the backfill and the incremental (always run: they fill the stores); None = all of them.
    stages: frozenset[str] | None = None
    shapes: list[str] = field(default_factory=lambda: list(SHAPES))

    def wants(self, stage: str) -> bool:
        return self.stages is None or stage in self.stages


# The stages `--only` may pick, in the order they run.
STAGES = ("api", "floor", "inprocess", "ondemand", "paired", "load")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path  # named with the pid: helpers sharing the checkout run benches side by side


def _backfill_timeout(years: int) -> float:
    return max(600.0, 300.0 * years)


def _full_backfill(host: DevHost, years: int) -> dict[str, Any]:
    """Wait for the backfill devhost starts on a fresh DATA_DIR; its duration, activities and peak RSS."""
    host.wait_ready()
    status = wait_completed(host.base_url, timeout=_backfill_timeout(years), poll=0.2)
    wall = time.perf_counter() - host.started_at
    history = get_status(host.base_url, history=True)
    output = status.get("output") if isinstance(status.get("output"), dict) else None
    seconds = run_seconds(status)
    return {
        "full_backfill_s": seconds,
        "full_backfill_s_per_year": round(seconds / years, 2) if seconds is not None else None,
        "full_backfill_wall_s_from_process_start": round(wall, 2),
        "activities_run": activities_run(history, output),
        "output": output,
        "created_time": status.get("createdTime"),
        "peak_rss_mib_during_backfill": host.rss.peak_mib if host.rss else None,
    }


def _incremental(host: DevHost, gold_path: Path, last_year: int, previous_created: str | None) -> dict[str, Any]:
    """Change one region-day in Gold, start the incremental run, time it until Completed."""
    day = f"{last_year}-{INCREMENTAL_DAY}"
    changed = touch_day(gold_path, INCREMENTAL_REGION, day)
    started = time.perf_counter()
    start_incremental(host.base_url)
    status = wait_completed(host.base_url, not_created=previous_created, timeout=300, poll=0.02)
    seconds = time.perf_counter() - started
    output = status.get("output") if isinstance(status.get("output"), dict) else None
    return {
        "incremental_1day_s": round(seconds, 3),
        "incremental_1day_orchestration_s": run_seconds(status),
        "incremental_region_day": f"{INCREMENTAL_REGION}:{day}",
        "incremental_gold_rows_changed": changed,
        "incremental_output": output,
    }


class Bench:
    """Holds the results and writes them after every stage, so a failure still leaves what was measured."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.keys: ApiKeys = new_api_keys()
        self.results: dict[str, Any] = {
            "meta": {
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "git_commit": _git_commit(),
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "command": " ".join(["python -m bench", *sys.argv[1:]]),
                "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
            }
        }

    def save(self) -> None:
        self.opts.out.parent.mkdir(parents=True, exist_ok=True)
        partial = self.opts.out.with_suffix(".tmp")
        partial.write_text(json.dumps(self.results, indent=2, ensure_ascii=False, default=str))
        partial.replace(self.opts.out)

    def stage(self, name: str) -> None:
        # The load average says how much else was running on the machine when each stage began.
        load = [round(x, 2) for x in os.getloadavg()]
        self.results.setdefault("meta", {}).setdefault("load_average_at_stage", {})[name] = load
        print(f"\n== {name} ({datetime.now(UTC).strftime('%H:%M:%S')} UTC, load average {load})", flush=True)

    def main_scenario(self) -> None:
        opts = self.opts
        span = Span.of_years(opts.years, opts.last_year)
        self.stage(f"Gold sample, {opts.years} year(s)")
        cached, build_s = cached_gold(
            opts.work_dir / "gold", opts.years, opts.last_year, opts.seed, rebuild=opts.rebuild_gold
        )
        data_dir = _fresh_dir(opts.work_dir / f"run-{opts.years}y-{os.getpid()}")
        gold = copy_gold(cached, data_dir / "gold.sqlite")
        rows = fact_rows(gold)
        print(f"  {rows:,} fact rows (built in {build_s} s, 0 = cached)", flush=True)
        self.results["gold"] = {"years": opts.years, "fact_rows": rows, "build_s": build_s}

        with DevHost(data_dir, self.keys) as host:
            self.stage("materialization: full backfill on a fresh DATA_DIR")
            mat = _full_backfill(host, opts.years)
            print(
                f"  {mat['full_backfill_s']} s, {mat['activities_run']} activities, output {mat['output']}", flush=True
            )
            self.results["materialization"] = mat
            self.save()

            self.stage("materialization: 1-day incremental")
            inc = _incremental(host, gold, opts.last_year, mat["created_time"])
            print(f"  {inc['incremental_1day_s']} s, output {inc['incremental_output']}", flush=True)
            mat.update(inc)
            self.save()

            if opts.wants("api"):
                self.stage(f"API latency over HTTP ({opts.client} client)")
                self.results["api"] = api_cells(
                    host.base_url,
                    self.keys.reader,
                    span,
                    shapes=opts.shapes,
                    concurrencies=opts.concurrencies,
                    duration_s=opts.duration_s,
                    max_requests=opts.max_requests,
                    client=opts.client,
                )
                self.save()

            if opts.wants("floor"):
                self.stage("floor: one answer's bytes from a bare aiohttp handler, alternated with the API")
                self.results["floor"] = floor_cells(
                    host.base_url,
                    self.keys.reader,
                    f"/v1/production/regional/{FLOOR_REGION}/{opts.last_year}-{FLOOR_DAY}",
                    concurrency=GROWTH_CONCURRENCY,
                    duration_s=opts.floor_duration_s,
                    rounds=opts.floor_rounds,
                    client=opts.client,
                )
                # The range pages' bytes too: what bare aiohttp makes of ~0.1-0.3 MB answers bounds their p99.
                self.results["floor_ranges"] = {
                    shape: floor_cells(
                        host.base_url,
                        self.keys.reader,
                        SHAPES[shape][0](random.Random(FLOOR_SEED), span).path,
                        concurrency=GROWTH_CONCURRENCY,
                        duration_s=opts.floor_duration_s,
                        rounds=opts.floor_rounds,
                        client=opts.client,
                    )
                    for shape in opts.shapes
                    if shape in FLOOR_RANGE_SHAPES
                }
                self.save()

            mat["rss_after_reads_mib"] = host.rss_now_mib()  # every read cache filled by the cells above
            mat["rss_after_reads_main_mib"] = host.rss_now_mib(tree=False)  # the HTTP process alone
            if opts.wants("inprocess"):
                self.stage("CPU per request of each read HTTP function, called in process (a child process)")
                self.results["inprocess_cpu"] = run_in_child(
                    data_dir, opts.years, opts.last_year, opts.inprocess_requests
                )
                self.save()
                from tests.integration.emulators import missing_reason

                if missing_reason() is None:  # the Azure path: cosmosdb-server + Azurite, one region's year
                    self.stage("CPU per request on the Azure path (cosmosdb-server + Azurite), in process")
                    requests = min(opts.inprocess_requests, 200)
                    self.results["inprocess_cpu_azure"] = run_in_child(
                        data_dir, 1, opts.last_year, requests, backend="emulators"
                    )
                    self.save()

            if opts.wants("ondemand"):
                self.stage("on-demand baseline: star join over Gold + pandas, in this process")
                self.results["ondemand"] = ondemand_cells(
                    gold, span, shapes=opts.shapes, iterations=opts.ondemand_iterations, max_seconds=opts.ondemand_max_s
                )
                self.save()

            if opts.wants("paired"):
                self.stage("precomputed vs on-demand, paired: alternating blocks of each in one sequence")
                paired = paired_ratios(
                    host.base_url, self.keys.reader, gold, span, shapes=opts.shapes, rounds=opts.paired_rounds
                )
                self.results["paired"] = paired
                self.results["ratios"] = {shape: paired[shape]["x_faster_p50"] for shape in opts.shapes}
                # The paired reads are cold ones (random days): what they leave in the HTTP process (kept rows,
                # pages of the store's memory map) shows here.
                mat["rss_after_paired_main_mib"] = host.rss_now_mib(tree=False)
                self.save()

            if opts.wants("load") and not opts.skip_load_test:
                self.stage(f"load test: {opts.load_seconds:.0f} s at c={opts.load_concurrency} during a backfill")
                self.results["load_test"] = run_load_test(
                    host.base_url,
                    self.keys,
                    data_dir,
                    span,
                    duration_s=opts.load_seconds,
                    concurrency=opts.load_concurrency,
                    backfill={"start_date": f"{opts.last_year}-01-01", "end_date": f"{opts.last_year}-06-30"},
                )
                lt = self.results["load_test"]
                print(
                    f"  {lt['requests']} requests, {lt['req_per_s']} req/s, errors {lt['errors']} {lt['error_kinds']}, "
                    f"backfill {lt['backfill_status']} in {lt['backfill_seconds']} s, "
                    f"nothing lost: {lt['nothing_lost']}",
                    flush=True,
                )
            mat["peak_rss_mib"] = host.rss.peak_mib if host.rss else None
            self.save()
        if not opts.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)

    def growth_point(self, years: int) -> dict[str, Any]:
        opts = self.opts
        span = Span.of_years(years, opts.last_year)
        self.stage(f"growth: {years} year(s)")
        gold, build_s = cached_gold(opts.work_dir / "gold", years, opts.last_year, opts.seed, rebuild=opts.rebuild_gold)
        rows = fact_rows(gold)
        print(f"  {rows:,} fact rows (built in {build_s} s, 0 = cached)", flush=True)
        data_dir = _fresh_dir(opts.work_dir / f"growth-{years}y-{os.getpid()}")
        point: dict[str, Any] = {"years": years, "fact_rows": rows, "gold_build_s": build_s}
        try:
            # Gold is only read here, so the cached file serves directly (GOLD_SQLITE_PATH).
            with DevHost(data_dir, self.keys, extra_env={"GOLD_SQLITE_PATH": str(gold)}) as host:
                mat = _full_backfill(host, years)
                point.update(
                    full_backfill_s=mat["full_backfill_s"],
                    full_backfill_s_per_year=mat["full_backfill_s_per_year"],
                    activities_run=mat["activities_run"],
                    days_written=(mat["output"] or {}).get("days_written"),
                    peak_rss_mib=host.rss.peak_mib if host.rss else None,
                )
                print(f"  backfill {mat['full_backfill_s']} s ({mat['full_backfill_s_per_year']} s/year)", flush=True)
                cells = api_cells(
                    host.base_url,
                    self.keys.reader,
                    span,
                    shapes=GROWTH_SHAPES,
                    concurrencies=[GROWTH_CONCURRENCY],
                    duration_s=opts.growth_duration_s,
                    max_requests=opts.max_requests,
                    client=opts.client,
                )
                point["api_c16"] = {shape: cells[shape][str(GROWTH_CONCURRENCY)] for shape in GROWTH_SHAPES}
            point["ondemand"] = ondemand_cells(
                gold, span, shapes=GROWTH_SHAPES, iterations=max(20, opts.ondemand_iterations // 4), max_seconds=10
            )
        finally:
            if not opts.keep_data:
                shutil.rmtree(data_dir, ignore_errors=True)
        return point

    def point_from_main_run(self, years: int) -> dict[str, Any] | None:
        """The main run is a growth point of its own size: same measurements, no second backfill."""
        res = self.results
        mat, api, od = res.get("materialization"), res.get("api"), res.get("ondemand")
        c = str(GROWTH_CONCURRENCY)
        if years != self.opts.years or not mat or not api or not od:
            return None
        if any(c not in api.get(shape, {}) for shape in GROWTH_SHAPES):
            return None
        print(f"\n== growth: {years} year(s): the main run's figures", flush=True)
        return {
            "years": years,
            "fact_rows": res["gold"]["fact_rows"],
            "gold_build_s": res["gold"]["build_s"],
            "full_backfill_s": mat["full_backfill_s"],
            "full_backfill_s_per_year": mat["full_backfill_s_per_year"],
            "activities_run": mat["activities_run"],
            "days_written": (mat["output"] or {}).get("days_written"),
            "peak_rss_mib": mat.get("peak_rss_mib_during_backfill"),
            "api_c16": {shape: api[shape][c] for shape in GROWTH_SHAPES},
            "ondemand": {shape: od[shape] for shape in GROWTH_SHAPES},
            "from_main_run": True,
        }

    def growth(self) -> None:
        points: list[dict[str, Any]] = []
        self.results["growth"] = {"points": points}
        for years in self.opts.growth:
            reused = self.point_from_main_run(years)
            points.append(reused if reused is not None else self.growth_point(years))
            self.save()
        measured = [p for p in points if p.get("full_backfill_s") is not None]
        fit = linear_fit([p["years"] for p in measured], [p["full_backfill_s"] for p in measured])
        self.results["growth"]["backfill_fit_s"] = (
            {"per_year": round(fit[0], 2), "intercept": round(fit[1], 2)} if fit else None
        )
        self.save()
