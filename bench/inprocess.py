"""`python -m bench.inprocess`: CPU per request of each read HTTP function, called in this process.

No server, no client: the function app's own triggers are called with a `func.HttpRequest` as the worker
would build it, on a DATA_DIR materialized here from the sample Gold (cached under .bench/). What is
measured is process CPU time (user + system) per request over a warm pass of random requests of each shape,
so a busy machine slows the run but hardly moves the figure. In Azure this is the CPU billed per request.
The production shapes come first; then every other GET function that needs no Durable client (the backfill
routes do), one kind of request each (`OTHER_READS`). Sync functions are called directly: the worker's
thread-pool hop is not in their figure.

`--backend emulators` measures the Azure path: the documents in cosmosdb-server and the files in Azurite (started
here; one region's year materialized into them), the same triggers called in this process, so the figure is the
app process's own CPU (the SDKs' included, the emulators' excluded). Each production shape is measured warm (after
a warm pass) and cold (the process's caches dropped before every request: what a new instance pays).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from bench.gold_data import cached_gold, copy_gold
from bench.shapes import SHAPES, Span, point_read
from devhost.testing import ApiKeys, new_api_keys

WORK_DIR = Path(".bench")
HOST = "http://127.0.0.1:7071"
# The shapes served by the production routes, with the function (by name) that answers each.
FUNCTIONS = {
    "point_read": "production_day",
    "range_31d_hourly": "production_range",
    "range_1y_daily": "production_range",
    "csv_export": "export_csv",
}
# Shapes measured a second time with `Accept-Encoding: gzip`, as browsers and HTTP libraries send it.
GZIP_SHAPES = ("point_read", "range_31d_hourly", "range_1y_daily")


def _day_route_params(path: str) -> dict[str, str]:
    """`{region_code}/{date}` of a path that names a region-day (a point read, its revisions)."""
    region_code, day = path.removesuffix("/revisions").rsplit("/", 2)[-2:]
    return {"region_code": region_code, "date": day}


def _asset_route_params(path: str) -> dict[str, str]:
    return {"asset": path.rsplit("/", 1)[1]}


def _no_route_params(path: str) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class OtherRead:
    """A GET function outside the production shapes: its requests' path (random where it names a region-day)
    and route parameters, the role of the key it sends, whether it accepts gzip, the status every request must
    get, and at most how many requests (a multi-MB script)."""

    function: str
    path: Callable[[random.Random, Span], str]
    route_params: Callable[[str], dict[str, str]] = _no_route_params
    operator: bool = False
    gzip: bool = False
    expect: int = 200
    max_requests: int | None = None


def _fixed(path: str) -> Callable[[random.Random, Span], str]:
    return lambda rng, span: path


def _revisions_path(rng: random.Random, span: Span) -> str:
    return point_read(rng, span).path + "/revisions"


def _parquet_month_path(rng: random.Random, span: Span) -> str:
    query = point_read(rng, span)
    return f"/v1/export/parquet?region_code={query.region_code}&month={query.first_day.isoformat()[:7]}"


OTHER_READS: dict[str, OtherRead] = {
    "regions": OtherRead("list_regions", _fixed("/v1/regions")),
    "changes_page": OtherRead("list_changes", _fixed("/v1/changes?limit=100")),
    "day_revisions": OtherRead("production_day_revisions", _revisions_path, _day_route_params),
    "parquet_export": OtherRead("export_parquet", _parquet_month_path, expect=302),
    "quarantine": OtherRead("quarantine", _fixed("/v1/admin/quarantine"), operator=True),
    "health": OtherRead("health", _fixed("/v1/health")),
    "openapi_document": OtherRead("openapi_json", _fixed("/v1/openapi.json")),
    "openapi_document_gzip": OtherRead("openapi_json", _fixed("/v1/openapi.json"), gzip=True),
    "docs_page": OtherRead("docs_page", _fixed("/v1/docs")),
    "docs_script_gzip": OtherRead(
        "docs_asset", _fixed("/v1/docs/assets/swagger-ui-bundle.js"), _asset_route_params, gzip=True, max_requests=50
    ),
    "explorer_page": OtherRead("explorer_page", _fixed("/explorer")),
    "explorer_script_gzip": OtherRead(
        "explorer_asset", _fixed("/explorer/assets/plotly.min.js"), _asset_route_params, gzip=True, max_requests=50
    ),
}


def materialized_data_dir(years: int, last_year: int) -> Path:
    """A DATA_DIR holding the sample Gold of `years` years, materialized in this process (kept for reuse)."""
    from core.settings import Settings
    from domain import materialization
    from stores.factory import build_stores

    data_dir = WORK_DIR / f"inprocess-{years}y-{last_year}"
    done = data_dir / ".materialized"
    if done.exists():
        return data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    cached, _ = cached_gold(WORK_DIR / "gold", years, last_year, seed=7)
    copy_gold(cached, data_dir / "gold.sqlite")
    stores = build_stores(Settings(DATA_DIR=data_dir))
    plan = materialization.plan(stores.gold, stores.documents, {"mode": "incremental"}, parallelism=1)
    results = [
        materialization.materialize_batch(stores.gold, stores.documents, stores.files, b) for b in plan["batches"]
    ]
    materialization.commit(stores.documents, plan, results, now="bench", instance_id="bench")
    done.touch()
    return data_dir


def _request(path: str, key: str, route_params: dict[str, str], *, gzip: bool = False) -> func.HttpRequest:
    parts = urlsplit(path)
    headers = {"x-api-key": key, "host": "127.0.0.1:7071"} | ({"accept-encoding": "gzip"} if gzip else {})
    return func.HttpRequest(
        "GET",
        HOST + path,
        headers=headers,
        params=dict(parse_qsl(parts.query)),
        route_params=route_params,
        body=b"",
    )


def _route_params(shape: str, path: str) -> dict[str, str]:
    return _day_route_params(path) if shape == "point_read" else {}


def _cpu() -> float:
    return time.process_time()


_LOOP: asyncio.AbstractEventLoop | None = None


def _loop() -> asyncio.AbstractEventLoop:
    """One event loop for the whole run: the aio store clients are bound to the loop they first ran on."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP


def _caller(call: Callable[[func.HttpRequest], Any]) -> Callable[[func.HttpRequest], int]:
    if inspect.iscoroutinefunction(call):
        loop = _loop()
        return lambda r: loop.run_until_complete(call(r)).status_code
    return lambda r: call(r).status_code


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figures(cpu: list[float], wall: list[float]) -> dict[str, Any]:
    n = len(cpu)
    return {
        "requests": n,
        "cpu_us_per_request": round(sum(cpu) / n * 1e6, 1),
        "cpu_us_p50": round(_percentile(cpu, 0.5) * 1e6, 1),
        "cpu_us_p99": round(_percentile(cpu, 0.99) * 1e6, 1),
        "wall_us_per_request": round(sum(wall) / n * 1e6, 1),
        "wall_us_p50": round(_percentile(wall, 0.5) * 1e6, 1),
        "wall_us_p99": round(_percentile(wall, 0.99) * 1e6, 1),
    }


def cpu_per_request(
    call: Callable[[func.HttpRequest], Any],
    requests: list[func.HttpRequest],
    expect: int,
    *,
    cold: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Warm pass (first-use caches filled), then the same requests again, each timed: CPU and wall µs per
    request (mean, p50, p99). With `cold`, no warm pass: `cold()` drops the process's caches before each request
    (outside the timing).

    Each response is dropped once its status is read, as a server drops it once sent: holding them all would
    charge the run for fresh memory (2,000 × 215 KB of page faults for the 31-day range) no server pays."""
    run = _caller(call)
    if cold is None:
        statuses = {run(r) for r in requests}
        if statuses != {expect}:
            raise RuntimeError(f"expected {expect} for every request, got {statuses}")
    cpu: list[float] = []
    wall: list[float] = []
    for r in requests:
        if cold is not None:
            cold()
        c, w = _cpu(), time.perf_counter()
        status = run(r)
        cpu.append(_cpu() - c)
        wall.append(time.perf_counter() - w)
        if status != expect:
            raise RuntimeError(f"expected {expect}, got {status}")
    return _figures(cpu, wall)


def drop_caches() -> None:
    """Forget what the process keeps of the documents (a new instance's state), clients and connections kept."""
    import api.production as production

    clear = getattr(production, "drop_caches", None)
    if clear is not None:  # the read path's own hook, where it has one
        clear()
        return
    from api.rendered import RenderedItems
    from stores.factory import get_read_stores

    production.READER.rendered = RenderedItems()
    stores = get_read_stores()
    # The cache in front of Cosmos DB, where there is one.
    clear_instance_cache = getattr(getattr(stores, "document_reads", None), "clear", None)
    if clear_instance_cache is not None:
        clear_instance_cache()
    # The embedded store's per-connection answers (it kept them before issue 23).
    local: Any = getattr(stores.documents, "_local", None)
    if getattr(local, "conn", None) is not None and hasattr(local, "rows"):
        local.rows.entries.clear()
        local.rows.size = 0
        local.ranges.entries.clear()
        local.ranges.size = 0


def measure(
    data_dir: Path,
    keys: ApiKeys,
    span: Span,
    requests: int,
    seed: int = 5,
    *,
    with_others: bool = True,
    cold_requests: int = 0,
) -> dict[str, dict[str, Any]]:
    """CPU per request of each shape (warm; then cold over `cold_requests` requests), then of each of
    `OTHER_READS` (unless not `with_others`), on the app's own trigger functions."""
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["API_KEYS"] = keys.env_value
    os.environ["RATE_LIMIT_REQUESTS"] = "0"
    from stores.factory import reset_stores

    reset_stores()
    import function_app

    functions = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}
    results: dict[str, dict[str, Any]] = {}
    for shape, function_name in FUNCTIONS.items():
        build, expect = SHAPES[shape]
        rng = random.Random(seed)
        paths = [build(rng, span).path for _ in range(requests)]
        for gzip in (False, True) if shape in GZIP_SHAPES else (False,):
            reqs = [_request(p, keys.reader, _route_params(shape, p), gzip=gzip) for p in paths]
            name = f"{shape}_gzip" if gzip else shape
            results[name] = {"function": function_name, **cpu_per_request(functions[function_name], reqs, expect)}
            print(f"  {name:<22} {function_name:<17} {results[name]}", flush=True)
        if cold_requests:
            cold_paths = [build(rng, span).path for _ in range(cold_requests)]
            reqs = [_request(p, keys.reader, _route_params(shape, p)) for p in cold_paths]
            name = f"{shape}_cold"
            figures = cpu_per_request(functions[function_name], reqs, expect, cold=drop_caches)
            results[name] = {"function": function_name, **figures}
            print(f"  {name:<22} {function_name:<17} {results[name]}", flush=True)
    if not with_others:
        return results
    for name, other in OTHER_READS.items():
        rng = random.Random(seed)
        key = keys.operator if other.operator else keys.reader
        paths = [other.path(rng, span) for _ in range(min(requests, other.max_requests or requests))]
        reqs = [_request(p, key, other.route_params(p), gzip=other.gzip) for p in paths]
        results[name] = {"function": other.function, **cpu_per_request(functions[other.function], reqs, other.expect)}
        print(f"  {name:<22} {other.function:<17} {results[name]}", flush=True)
    return results


EMULATOR_REGION = "11"


def measure_on_emulators(
    workdir: Path, keys: ApiKeys, last_year: int, requests: int, cold_requests: int
) -> dict[str, dict[str, Any]]:
    """The production shapes on cosmosdb-server + Azurite (started here, stopped after): one region's year
    materialized into them, then the same cells as the embedded store's."""
    import urllib3

    import bench.shapes
    from core.settings import Settings
    from domain import materialization
    from domain.regions import REGIONS_BY_CODE
    from stores.factory import build_stores
    from stores.sample_data import build_sample_gold
    from tests.support.azure_devhosts import emulators

    urllib3.disable_warnings()  # the sync client's warning on each unverified HTTPS request (emulator only)
    bench.shapes.REGIONS = (REGIONS_BY_CODE[EMULATOR_REGION],)  # one region: the emulator holds one year of it
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with emulators(workdir) as emu:
        os.environ.update(emu.env("bench", "exports"))
        gold = workdir / "gold.sqlite"
        build_sample_gold(gold, years=1, last_year=last_year, region_codes=[EMULATOR_REGION])
        os.environ["GOLD_SQLITE_PATH"] = str(gold)
        started = time.perf_counter()
        stores = build_stores(Settings(DATA_DIR=workdir / "data"))
        plan = materialization.plan(stores.gold, stores.documents, {"mode": "incremental"}, parallelism=1)
        results = [
            materialization.materialize_batch(stores.gold, stores.documents, stores.files, b) for b in plan["batches"]
        ]
        materialization.commit(stores.documents, plan, results, now="bench", instance_id="bench")
        print(f"  materialized one region's year into the emulators in {time.perf_counter() - started:.0f} s")
        span = Span.of_years(1, last_year)
        return measure(workdir / "data", keys, span, requests, with_others=False, cold_requests=cold_requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--requests", type=int, default=2000, help="requests per shape (default 2000)")
    parser.add_argument("--data-dir", type=Path, help="an already materialized DATA_DIR (python -m bench's run)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--shapes-only", action="store_true", help="only the production shapes, not OTHER_READS")
    parser.add_argument(
        "--backend", choices=("embedded", "emulators"), default="embedded", help="emulators: cosmosdb-server + Azurite"
    )
    parser.add_argument("--cold", type=int, default=0, help="also this many cold requests per shape (caches dropped)")
    args = parser.parse_args(argv)
    if args.backend == "emulators":
        results = measure_on_emulators(WORK_DIR / "emulators", new_api_keys(), args.last_year, args.requests, args.cold)
    else:
        data_dir = args.data_dir or materialized_data_dir(args.years, args.last_year)
        span = Span.of_years(args.years, args.last_year)
        results = measure(
            data_dir, new_api_keys(), span, args.requests, with_others=not args.shapes_only, cold_requests=args.cold
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def run_in_child(
    data_dir: Path, years: int, last_year: int, requests: int, *, backend: str = "embedded", cold: int = 30
) -> dict[str, dict[str, Any]]:
    """The measurement in a child process (it imports the function app with its own environment)."""
    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as tmp:
        out = Path(tmp) / "cpu.json"
        argv = [sys.executable, "-m", "bench.inprocess", "--data-dir", str(data_dir), "--json", str(out)]
        argv += ["--years", str(years), "--last-year", str(last_year), "--requests", str(requests)]
        argv += ["--backend", backend, "--cold", str(cold)]
        subprocess.run(argv, check=True, timeout=1800)
        figures: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
