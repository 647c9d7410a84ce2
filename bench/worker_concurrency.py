"""`python -m bench.worker_concurrency`: the read path through the REAL Python worker, as Flex Consumption runs it.

The bench plays the Functions host (tests/conformance/grpc_host.py: a FunctionRpc gRPC server, the real
`worker.py` its client, built by devhost.real_worker) and sends HTTP invocations as the host does
(tests/conformance/http_through.py). Three measurements, on the embedded stores and on the emulators
(cosmosdb-server + Azurite), each with March 2024 of one region materialized by a devhost backfill:

1. Concurrency: `c` invocations in flight at once (c = 1, 4, 16, 32: what `perInstanceConcurrency` lets the host
   send one instance), for a point read and a 31-day hourly range. Per cell: throughput, p50/p99 of the
   invocation as the host sees it, and the worker process's CPU (user + system, psutil) per request.
2. Cold start: launch of `worker.py` -> stream open -> indexed (FunctionsMetadataResponse: `function_app` imported)
   -> every function loaded -> first 200 of a point read (the store clients built on that call).
3. Import of `function_app` in fresh interpreters: wall and CPU seconds, the median of `--imports` runs.

Wall figures move with the machine's load (printed beside them); CPU per request and import CPU much less.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.http_load import summarize
from bench.report import render
from devhost.testing import REPO_ROOT, DevHost, new_api_keys
from tests.support.azure_devhosts import MONTH_DAYS, REGION, backfill_month, emulators, one_region_gold

BACKENDS = ("embedded", "emulators")
CONCURRENCY = (1, 4, 16, 32)
# The perInstanceConcurrency default of infra/bicep/main.bicep is chosen from this module's table (see
# docs/performance.md); tests/integration/infra/test_concurrency.py holds the Bicep to the documented choice.


def point_path(rng: random.Random) -> str:
    return f"/v1/production/regional/{REGION}/{rng.choice(MONTH_DAYS)}"


def range_path(rng: random.Random) -> str:
    return f"/v1/production/regional?region_code={REGION}&start_date=2024-03-01&end_date=2024-03-31&granularity=hour"


READS: dict[str, Callable[[random.Random], str]] = {"point read": point_path, "31-day hourly range": range_path}
IMPORT_SNIPPET = (
    "import time; w, c = time.perf_counter(), time.process_time(); import function_app; "
    "print(time.perf_counter() - w, time.process_time() - c)"
)


def _load() -> str:
    return "load " + "/".join(f"{v:.2f}" for v in os.getloadavg())


# -- the stores, materialized ------------------------------------------------------------------------------------
@contextlib.contextmanager
def served_env(backend: str, workdir: Path) -> Iterator[tuple[dict[str, str], str]]:
    """The app settings of a worker reading `backend` with March 2024 of REGION materialized; the reader key.

    A devhost (same settings) runs the backfill, then stops: only the worker serves the measured reads.
    """
    keys = new_api_keys()
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {"GOLD_SQLITE_PATH": str(one_region_gold(workdir / "gold.sqlite"))}
        if backend == "emulators":
            emu = stack.enter_context(emulators(workdir))
            env |= emu.env("bench", "exports")
            env["PYTHONWARNINGS"] = "ignore::urllib3.exceptions.InsecureRequestWarning"
        host = DevHost(workdir / "data", keys, extra_env=env)
        host.process.serve_args = ["--no-run-timers-at-start"]
        try:
            host.start()
            host.wait_ready()
            backfill_month(host, keys.operator)
            worker_env = dict(host.process.env)
        finally:
            host.stop()
        yield worker_env, keys.reader


# -- the worker, driven as the host drives it --------------------------------------------------------------------
class Worker:
    """One real worker process behind the conformance suite's WorkerHost, with invocations in flight at once.

    WorkerHost reads its replies one at a time; after loading, a dispatcher thread hands each
    InvocationResponse to the caller waiting on its invocation id.
    """

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        from devhost.real_worker import HOW_TO_RUN, build_worker
        from tests.conformance.grpc_host import WorkerHost

        worker_dir = build_worker()
        if worker_dir is None:
            raise RuntimeError(HOW_TO_RUN)
        self.host = WorkerHost(worker_dir, REPO_ROOT, env, log_path)
        self.protos = self.host.protos
        self.base_url = env.get("PUBLIC_BASE_URL", "http://127.0.0.1:7071")
        self._waiting: dict[str, queue.Queue[Any]] = {}
        self._lock = threading.Lock()
        self.phases: dict[str, float] = {}

    def start(self) -> Worker:
        """Launch, index, load; the seconds from launch to each step in `phases`."""
        started = time.perf_counter()
        self.host.start()
        self.phases["stream open"] = time.perf_counter() - started
        self.host.index_and_load()
        self.phases["indexed + loaded"] = time.perf_counter() - started
        threading.Thread(target=self._dispatch, daemon=True).start()
        self._started = started
        return self

    def since_launch(self) -> float:
        return time.perf_counter() - self._started

    @property
    def pid(self) -> int:
        assert self.host._process is not None
        return self.host._process.pid

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def _dispatch(self) -> None:
        while (message := self.host._inbox.get()) is not None:
            if message.WhichOneof("content") == "invocation_response":
                with self._lock:
                    waiter = self._waiting.pop(message.invocation_response.invocation_id, None)
                if waiter is not None:
                    waiter.put(message.invocation_response)

    def get(self, target: str, headers: dict[str, str]) -> int:
        """One GET through the worker; its HTTP status."""
        from tests.conformance.http_through import Call, answer_of, rpc_http

        path, _, query = target.partition("?")
        info, values, _ = self.index.match_http("GET", path)
        assert info is not None, f"no function serves GET {path}"
        call = Call("GET", path, query, headers)
        invocation_id = str(uuid.uuid4())
        waiter: queue.Queue[Any] = queue.Queue(maxsize=1)
        with self._lock:
            self._waiting[invocation_id] = waiter
        protos = self.protos
        http = rpc_http(protos, self.base_url, call, values)
        self.host._send(
            invocation_request=protos.InvocationRequest(
                invocation_id=invocation_id,
                function_id=self.host.function_ids[info.name],
                input_data=[protos.ParameterBinding(name=info.trigger_name, data=protos.TypedData(http=http))],
            )
        )
        return answer_of(protos, waiter.get(timeout=60)).status

    @property
    def index(self) -> Any:
        return _function_index()

    def stop(self) -> None:
        self.host.stop()


_INDEX: list[Any] = []


def _function_index() -> Any:
    """devhost's route table of the app (imported once in this process: routing is the host's, not measured)."""
    if not _INDEX:
        import function_app
        from devhost.functions import FunctionIndex, read_route_prefix

        _INDEX.append(FunctionIndex(function_app.app, read_route_prefix(REPO_ROOT / "host.json")))
    return _INDEX[0]


# -- 1. concurrency ----------------------------------------------------------------------------------------------
@dataclass
class Cell:
    backend: str
    read: str
    concurrency: int
    req_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    cpu_us: float
    errors: int


def run_cell(worker: Worker, headers: dict[str, str], make_path: Callable[[random.Random], str], concurrency: int,
             seconds: float, seed: int) -> tuple[dict[str, Any], float]:  # fmt: skip
    """`concurrency` callers, each one invocation at a time, for `seconds`; (summary, worker CPU µs / request)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def caller(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        mine: list[float] = []
        failed = 0
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                ok = worker.get(make_path(rng), headers) == 200
            except Exception:  # counted, the cell goes on
                ok = False
            if ok:
                mine.append(time.perf_counter() - sent)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(concurrency)]
    cpu_before, started = worker.cpu_seconds(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, worker.cpu_seconds() - cpu_before
    summary: dict[str, Any] = dict(summarize(latencies, errors[0], elapsed))
    return summary, cpu / max(1, summary["requests"]) * 1e6


def concurrency_cells(worker: Worker, backend: str, reader_key: str, levels: tuple[int, ...], seconds: float,
                      rounds: int) -> list[Cell]:  # fmt: skip
    """Every (read, c) cell `rounds` times, levels alternated up then down; the medians per cell."""
    headers = {"x-api-key": reader_key, "accept-encoding": "gzip"}
    cells: list[Cell] = []
    for read, make_path in READS.items():
        run_cell(worker, headers, make_path, 4, 1.0, seed=99)  # warm: clients built, caches filled
        runs: dict[int, list[tuple[dict[str, Any], float]]] = {c: [] for c in levels}
        for round_ in range(rounds):
            for c in levels if round_ % 2 == 0 else tuple(reversed(levels)):
                runs[c].append(run_cell(worker, headers, make_path, c, seconds, seed=round_))
        for c in levels:
            summaries = [s for s, _ in runs[c]]
            cells.append(
                Cell(
                    backend,
                    read,
                    c,
                    statistics.median(s["req_per_s"] for s in summaries),
                    _median([s["p50_ms"] for s in summaries]),
                    _median([s["p99_ms"] for s in summaries]),
                    statistics.median(cpu for _, cpu in runs[c]),
                    sum(s["errors"] for s in summaries),
                )
            )
            print(f"  {backend} {read} c={c}: {cells[-1]} ({_load()})", flush=True)
    return cells


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# -- 2. cold start -----------------------------------------------------------------------------------------------
def cold_starts(env: dict[str, str], reader_key: str, log_dir: Path, count: int) -> list[dict[str, float]]:
    """`count` fresh workers: seconds from launch to stream open, indexed + loaded, and the first 200 of a read."""
    headers = {"x-api-key": reader_key, "accept-encoding": "gzip"}
    target = f"/v1/production/regional/{REGION}/{MONTH_DAYS[-1]}"
    _function_index()  # this process's route table: built before the clock starts
    results = []
    for n in range(count):
        worker = Worker(env, log_dir / f"cold-{n}.log")
        try:
            worker.start()
            status = worker.get(target, headers)
            if status != 200:
                raise RuntimeError(f"first read answered {status}:\n{worker.host.output()}")
            results.append({**worker.phases, "first 200": worker.since_launch(), "worker CPU s": worker.cpu_seconds()})
        finally:
            worker.stop()
    return results


# -- 3. import ---------------------------------------------------------------------------------------------------
def import_times(count: int) -> tuple[float, float]:
    """Medians of (wall s, CPU s) of `import function_app` in `count` fresh interpreters (embedded settings)."""
    from devhost.testing import devhost_env

    walls, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        env = devhost_env(Path(tmp), PYTHONDONTWRITEBYTECODE="0")
        for _ in range(count):
            out = subprocess.run(  # this interpreter, a fixed snippet
                [sys.executable, "-c", IMPORT_SNIPPET], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                check=True,
            ).stdout.split()  # fmt: skip
            walls.append(float(out[-2]))
            cpus.append(float(out[-1]))
    return statistics.median(walls), statistics.median(cpus)


# -- main --------------------------------------------------------------------------------------------------------
def _levels(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_concurrency", description=__doc__)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="embedded,emulators")
    parser.add_argument("--concurrency", type=_levels, default=CONCURRENCY, help="e.g. 1,4,16,32")
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of one cell")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each cell (levels alternated)")
    parser.add_argument("--cold-starts", type=int, default=5, help="fresh workers per backend (0: none)")
    parser.add_argument("--imports", type=int, default=5, help="fresh `import function_app` runs (0: none)")
    parser.add_argument("--no-concurrency", action="store_true", help="cold start and import only")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, {_load()}", flush=True)
    if args.imports:
        wall, cpu = import_times(args.imports)
        print(f"import function_app, median of {args.imports} fresh interpreters: {wall:.3f} s wall, "
              f"{cpu:.3f} s CPU ({_load()})", flush=True)  # fmt: skip
    cells: list[Cell] = []
    colds: dict[str, list[dict[str, float]]] = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with (
            tempfile.TemporaryDirectory(prefix=f"bench-worker-{backend}-") as tmp,
            served_env(backend, Path(tmp)) as (env, reader_key),
        ):
            print(f"{backend}: March 2024 of region {REGION} materialized ({_load()})", flush=True)
            if args.cold_starts:
                colds[backend] = cold_starts(env, reader_key, Path(tmp), args.cold_starts)
                print(f"  cold starts done ({_load()})", flush=True)
            if not args.no_concurrency:
                worker = Worker(env, Path(tmp) / "worker.log").start()
                try:
                    cells += concurrency_cells(worker, backend, reader_key, args.concurrency, args.seconds, args.rounds)
                finally:
                    worker.stop()
    if cells:
        print(f"\nThrough the real worker, medians of {args.rounds} x {args.seconds:.0f} s cells ({_load()})")
        print(render(
            ["backend", "read", "c", "req/s", "p50 ms", "p99 ms", "worker CPU µs/req", "errors"],
            [[c.backend, c.read, c.concurrency, c.req_per_s, c.p50_ms, c.p99_ms, round(c.cpu_us), c.errors]
             for c in cells],
        ))  # fmt: skip
    if colds:
        phases = ["stream open", "indexed + loaded", "first 200", "worker CPU s"]
        print(f"\nCold start, launch -> ..., seconds: median (min-max) of {args.cold_starts} fresh workers")
        print(render(
            ["backend", *phases],
            [[backend, *(f"{statistics.median(r[p] for r in runs):.3f} "
                         f"({min(r[p] for r in runs):.2f}-{max(r[p] for r in runs):.2f})" for p in phases)]
             for backend, runs in colds.items()],
        ))  # fmt: skip
    print(f"({_load()} at the end)")
    return 1 if any(c.errors for c in cells) else 0


if __name__ == "__main__":
    raise SystemExit(main())
