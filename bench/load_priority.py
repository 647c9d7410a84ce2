"""`python -m bench.load_priority`: the load test (reads at c=64 during a backfill) with devhost's activity
worker processes at the HTTP process's CPU priority and below it (DEVHOST_WORKER_NICE), alternated in one run.

The store is materialized once (1 year × 12 regions); every cell starts devhost on its own copy of it with
one niceness, runs the load test, and stops it: the read latencies and the backfill's duration side by side,
so the machine's noise hits both settings alike. `--identity-too` adds cells whose client asks for uncompressed
answers: what gzip made per request (range answers) costs the server and the client on the same cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

from bench import durable
from bench.gold_data import cached_gold, copy_gold
from bench.load_test import run_load_test
from bench.shapes import Span
from devhost.testing import REPO_ROOT, DevHost, new_api_keys

LAST_YEAR = 2024
BACKFILL = {"start_date": f"{LAST_YEAR}-01-01", "end_date": f"{LAST_YEAR}-06-30"}
_FIGURES = ("requests", "req_per_s", "p50_ms", "p95_ms", "p99_ms", "errors", "backfill_seconds", "backfill_status")


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def materialized_store(root: Path, years: int) -> Path:
    """A DATA_DIR holding Gold and everything materialized from it (devhost's at-start backfill)."""
    gold, _ = cached_gold(REPO_ROOT / ".bench" / "gold", years, LAST_YEAR, seed=7)
    data_dir = root / "materialized"
    data_dir.mkdir(parents=True)
    copy_gold(gold, data_dir / "gold.sqlite")
    with DevHost(data_dir, new_api_keys()) as host:
        host.wait_ready()
        durable.wait_completed(host.base_url, timeout=900, poll=0.5)
    return data_dir


def load_cell(
    store: Path, root: Path, nice: int, seconds: float, concurrency: int, years: int, encoding: str | None = None
) -> dict[str, Any]:
    data_dir = root / f"nice-{nice}"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(store, data_dir)
    keys = new_api_keys()
    with DevHost(data_dir, keys, extra_env={"DEVHOST_WORKER_NICE": str(nice)}) as host:
        host.wait_ready()
        durable.wait_completed(host.base_url, timeout=300, poll=0.2)  # the at-start incremental: nothing new
        time.sleep(2)  # the status above may be the previous run's: let this start's incremental end too
        result = run_load_test(
            host.base_url,
            keys,
            data_dir,
            Span.of_years(years, LAST_YEAR),
            duration_s=seconds,
            concurrency=concurrency,
            backfill=BACKFILL,
            accept_encoding=encoding,
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"nice": nice, "accept_encoding": encoding or "gzip", **{k: result[k] for k in _FIGURES}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_priority", description=__doc__)
    parser.add_argument("--nice", type=_int_list, default=[0, 10], help="worker niceness per cell (default 0,10)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the settings (default 2)")
    parser.add_argument("--seconds", type=float, default=30.0, help="load test duration per cell (default 30)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument(
        "--identity-too",
        action="store_true",
        help="also cells whose client asks for uncompressed answers (Accept-Encoding: identity)",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "load-priority.json")
    args = parser.parse_args(argv)
    cells: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-priority-", dir=REPO_ROOT / ".bench") as tmp:
        root = Path(tmp)
        store = materialized_store(root, args.years)
        settings = [(nice, enc) for enc in ([None, "identity"] if args.identity_too else [None]) for nice in args.nice]
        for round_no in range(args.rounds):
            for nice, encoding in settings:
                cell = load_cell(store, root, nice, args.seconds, args.concurrency, args.years, encoding)
                cells.append({"round": round_no + 1, **cell})
                print(json.dumps(cells[-1]), flush=True)
    summary = {
        f"nice {nice}, {encoding or 'gzip'}": {
            name: median(
                c[name]
                for c in cells
                if (c["nice"], c["accept_encoding"]) == (nice, encoding or "gzip") and c[name] is not None
            )
            for name in ("req_per_s", "p50_ms", "p99_ms", "backfill_seconds")
        }
        for nice, encoding in settings
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv), "cells": cells, "medians": summary}, indent=2))
    print("medians by worker niceness and Accept-Encoding:", json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
