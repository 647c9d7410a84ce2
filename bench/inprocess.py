"""`python -m bench.inprocess`: CPU per request of each read HTTP function, called in this process.

No server, no client: the function app's own triggers are called with a `func.HttpRequest` as the worker
would build it, on a DATA_DIR materialized here from the sample Gold (cached under .bench/). What is
measured is process CPU time (user + system) per request over a warm pass of random requests of each shape,
so a busy machine slows the run but hardly moves the figure. In Azure this is the CPU billed per request.
The production shapes come first; then every other GET function that needs no Durable client (the backfill
routes do), one kind of request each (`OTHER_READS`). Sync functions are called directly: the worker's
thread-pool hop is not in their figure.
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


def cpu_per_request(
    call: Callable[[func.HttpRequest], Any], requests: list[func.HttpRequest], expect: int
) -> dict[str, Any]:
    """Warm pass (first-use caches filled), then the same requests again: CPU µs and wall µs per request.

    Each response is dropped once its status is read, as a server drops it once sent: holding them all would
    charge the run for fresh memory (2,000 × 215 KB of page faults for the 31-day range) no server pays."""
    if inspect.iscoroutinefunction(call):
        loop = asyncio.new_event_loop()

        async def all_of() -> list[int]:
            return [(await call(r)).status_code for r in requests]

        def run() -> list[int]:
            return loop.run_until_complete(all_of())
    else:

        def run() -> list[int]:
            return [call(r).status_code for r in requests]

    statuses = set(run())
    if statuses != {expect}:
        raise RuntimeError(f"expected {expect} for every request, got {statuses}")
    cpu, wall = _cpu(), time.perf_counter()
    run()
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    n = len(requests)
    return {
        "requests": n,
        "cpu_us_per_request": round(cpu / n * 1e6, 1),
        "wall_us_per_request": round(wall / n * 1e6, 1),
    }


def measure(
    data_dir: Path, keys: ApiKeys, span: Span, requests: int, seed: int = 5, *, with_others: bool = True
) -> dict[str, dict[str, Any]]:
    """CPU per request of each shape, then of each of `OTHER_READS` (unless not `with_others`), on the app's own
    trigger functions."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--requests", type=int, default=2000, help="requests per shape (default 2000)")
    parser.add_argument("--data-dir", type=Path, help="an already materialized DATA_DIR (python -m bench's run)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--shapes-only", action="store_true", help="only the production shapes, not OTHER_READS")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or materialized_data_dir(args.years, args.last_year)
    span = Span.of_years(args.years, args.last_year)
    results = measure(data_dir, new_api_keys(), span, args.requests, with_others=not args.shapes_only)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def run_in_child(data_dir: Path, years: int, last_year: int, requests: int) -> dict[str, dict[str, Any]]:
    """The measurement in a child process (it imports the function app with its own environment)."""
    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as tmp:
        out = Path(tmp) / "cpu.json"
        argv = [sys.executable, "-m", "bench.inprocess", "--data-dir", str(data_dir), "--json", str(out)]
        argv += ["--years", str(years), "--last-year", str(last_year), "--requests", str(requests)]
        subprocess.run(argv, check=True, timeout=1800)
        figures: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
