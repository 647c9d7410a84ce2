"""`python -m bench.changes`: the changes feed as a mirroring client reads it, over HTTP from devhost.

Materializes the sample Gold (one year, 12 regions by default) on a fresh DATA_DIR, then follows every page
of GET /v1/changes from the start, `--rounds` times per page size, and prints the time of the whole mirror
read and of each page. For scale, the same run also times point reads of day documents, so the feed's cost
per item can be read as a ratio of a point read's (noise on a shared machine moves both alike).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.gold_data import cached_gold, copy_gold
from devhost.testing import DevHost, new_api_keys

WORK_DIR = Path(".bench")
TIMEOUT = 60


def follow_all(session: requests.Session, base_url: str, limit: int) -> dict[str, Any]:
    """Every page from the start; the seconds of each request, items and bytes."""
    url: str | None = f"{base_url}/v1/changes?limit={limit}"
    pages: list[float] = []
    items = size = 0
    kinds: dict[str, int] = {}
    started = time.perf_counter()
    while url:
        t0 = time.perf_counter()
        resp = session.get(url, timeout=TIMEOUT)
        pages.append(time.perf_counter() - t0)
        resp.raise_for_status()
        body = resp.json()
        items += body["count"]
        size += len(resp.content)
        for item in body["items"]:
            kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
        url = body["next"]
    return {"total_s": time.perf_counter() - started, "pages": pages, "items": items, "bytes": size, "kinds": kinds}


def point_reads(session: requests.Session, base_url: str, hrefs: list[str]) -> float:
    """Median seconds of one day-document read."""
    times = []
    for href in hrefs:
        t0 = time.perf_counter()
        session.get(href, timeout=TIMEOUT).raise_for_status()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.changes", description=__doc__)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--last-year", type=int, default=2024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limits", default="1000,500,100", help="page sizes, comma separated")
    args = parser.parse_args(argv)

    cached, _ = cached_gold(WORK_DIR / "gold", args.years, args.last_year, seed=7)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-changes-", dir=WORK_DIR if WORK_DIR.exists() else None))
    copy_gold(cached, data_dir / "gold.sqlite")
    keys = new_api_keys()
    try:
        with DevHost(data_dir, keys) as host:
            host.wait_ready()
            t0 = time.perf_counter()
            run = host.process.wait_for("materialize-incremental", 1800)
            print(f"materialized {args.years} year(s) in {time.perf_counter() - t0:.1f} s: {run['runtimeStatus']}")
            session = requests.Session()
            session.headers["X-API-Key"] = keys.reader
            print(f"{'limit':>6} {'pages':>6} {'items':>6} {'MiB':>6} {'all pages s (median)':>21} "
                  f"{'page ms p50':>12} {'page ms max':>12} {'µs/item':>8}")  # fmt: skip
            hrefs: list[str] = []
            per_item = {}
            for limit in (int(v) for v in args.limits.split(",")):
                rounds = [follow_all(session, host.base_url, limit) for _ in range(args.rounds)]
                best = min(rounds, key=lambda r: r["total_s"])
                total = statistics.median(r["total_s"] for r in rounds)
                pages_ms = [p * 1000 for r in rounds for p in r["pages"]]
                per_item[limit] = total / max(best["items"], 1)
                print(
                    f"{limit:>6} {len(best['pages']):>6} {best['items']:>6} {best['bytes'] / 2**20:>6.2f} "
                    f"{total:>21.3f} {statistics.median(pages_ms):>12.1f} {max(pages_ms):>12.1f} "
                    f"{per_item[limit] * 1e6:>8.0f}"
                )
                print(f"       items by kind: {best['kinds']}")
            first = session.get(f"{host.base_url}/v1/changes?limit=200", timeout=TIMEOUT).json()
            hrefs = [i["href"] for i in first["items"] if i["kind"] == "day"][:100]
            read = point_reads(session, host.base_url, hrefs)
            print(f"one day point read (median of {len(hrefs)}): {read * 1000:.1f} ms; feed cost per item at "
                  f"limit 1000: {per_item.get(1000, 0) / read:.3f} point reads")  # fmt: skip
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
