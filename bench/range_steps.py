"""`python -m bench.range_steps`: where the CPU of a warm range request goes, step by step, in process.

The same requests as `bench.inprocess` (its data dir, keys and shapes), called on the function app's own
trigger; process-CPU timers wrap the reader's steps, the store's `range_hashes` and the rendered cache's
`get_many`. Steps nest (a step's figure includes the steps it calls) and each timer adds ~0.3 µs, so the
figures say where the time goes, not the request's exact cost (`bench.inprocess` gives that).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.inprocess import FUNCTIONS, _request, _route_params, materialized_data_dir
from bench.shapes import SHAPES, Span
from devhost.testing import new_api_keys

# (module, attribute, label): the reader's steps, timed where the reader looks them up.
_READER_STEPS = (
    ("api.reader", "rendered_page", "rendered_page (all)"),
    ("api.reader", "_region_runs", "region runs (hashes + cache + any render)"),
    ("api.reader", "joined", "join: the page's one copy"),
    ("api.reader", "whole_runs_page", "whole runs' blobs and counts"),
    ("api.reader", "page_of", "page_of (runs cut)"),
    ("api.reader", "chunks_of", "chunks_of (runs cut)"),
    ("api.reader", "_page_head", "page head (dict, links)"),
    ("api.reader", "dumps", "page head (JSON)"),
    ("api.reader", "canonical_query", "canonical query"),
    ("api.caching", "combined_etag", "ETag"),
    ("api.production", "parse", "query parse"),
)


def _timed(function: Callable[..., Any], label: str, spent: dict[str, int]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time_ns() - start

    return timed


def measure(data_dir: Path, shape: str, requests: int, seed: int = 5) -> dict[str, float]:
    """µs of process CPU per request in each step, and the whole request's, over a warm pass."""
    keys = new_api_keys()
    os.environ |= {"DATA_DIR": str(data_dir), "API_KEYS": keys.env_value, "RATE_LIMIT_REQUESTS": "0"}
    import importlib

    import function_app
    from api import production
    from api.deps import stores

    call = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}[FUNCTIONS[shape]]
    build, expect = SHAPES[shape]
    rng = random.Random(seed)
    paths = [build(rng, Span.of_years(1, 2024)).path for _ in range(requests)]
    reqs = [_request(p, keys.reader, _route_params(shape, p)) for p in paths]
    loop = asyncio.new_event_loop()

    async def all_of() -> None:
        for req in reqs:
            if (await call(req)).status_code != expect:
                raise RuntimeError(f"expected {expect}")

    loop.run_until_complete(all_of())  # warm: caches filled
    spent: dict[str, int] = defaultdict(int)
    for module_name, name, label in _READER_STEPS:
        module = importlib.import_module(module_name)
        setattr(module, name, _timed(getattr(module, name), label, spent))
    documents = stores().documents
    documents.range_hashes = _timed(documents.range_hashes, "store range_hashes", spent)
    cache = production.READER.rendered
    cache.get_many = _timed(cache.get_many, "rendered cache get_many", spent)  # type: ignore[method-assign]
    production.READER.page = _timed(production.READER.page, "reader.page (all)", spent)  # type: ignore[method-assign]
    start = time.process_time_ns()
    loop.run_until_complete(all_of())
    whole = time.process_time_ns() - start
    figures = {label: round(ns / len(reqs) / 1000, 1) for label, ns in sorted(spent.items(), key=lambda kv: -kv[1])}
    return figures | {"whole request (timers included)": round(whole / len(reqs) / 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.range_steps", description=__doc__)
    parser.add_argument("--shape", choices=["range_31d_hourly", "range_1y_daily"], default="range_31d_hourly")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--data-dir", type=Path, help="an already materialized DATA_DIR (default: bench.inprocess's)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or materialized_data_dir(1, 2024)
    for label, us in measure(data_dir, args.shape, args.requests).items():
        print(f"{us:8.1f} µs  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
