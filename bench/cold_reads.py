"""Cold reads of the embedded document store, the file mapped or not (`EMBEDDED_DOCUMENTS_MMAP_MIB`).

A cold read is one the reading connection has not kept yet: each cell opens a fresh store (its own connection,
nothing kept) and reads distinct random day documents (`get_rendered`, a point read) and 31-day ranges
(`query_range`, the read of a range's missing runs), with each map size in turn, alternated. The file itself
is in the OS page cache, as on a devhost that has served it: this measures SQLite's way to the pages, not disk.

    python -m bench.cold_reads .bench/run-1y-<pid>/documents.sqlite   # a DATA_DIR kept by `python -m bench --keep-data`
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from stores.documents_embedded import EmbeddedDocumentStore

RANGE_DAYS = 31
DEFAULT_MAP_SIZES = (0, 256 * 2**20)


def _day_ids(path: Path) -> list[tuple[str, str, str]]:
    """(region, id, key) of every day document, read from the file itself."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT region_code, id, key FROM documents WHERE doc_type = 'day' ORDER BY 1, 3")
        return [(r, i, k) for r, i, k in rows]


def _p50_us(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1e6, 1)


def cold_cells(
    path: Path, *, rounds: int, points: int, ranges: int, map_sizes: tuple[int, ...] = DEFAULT_MAP_SIZES
) -> list[dict[str, Any]]:
    """One row per (round, map size): p50 µs of cold point reads and of cold 31-day ranges."""
    days = _day_ids(path)
    if not days:
        raise ValueError(f"{path} holds no day documents")
    by_region: dict[str, list[str]] = {}
    for region, _, key in days:
        by_region.setdefault(region, []).append(key)
    starts = [(r, keys[i]) for r, keys in by_region.items() for i in range(len(keys) - RANGE_DAYS + 1)]
    rows: list[dict[str, Any]] = []
    for round_no in range(rounds):
        rng = random.Random(round_no)
        point_sample = rng.sample(days, min(points, len(days)))
        range_sample = rng.sample(starts, min(ranges, len(starts))) if starts else []
        for map_size in map_sizes:  # the same reads for each size, in turn
            store = EmbeddedDocumentStore(path, mmap_bytes=map_size)
            point_s: list[float] = []
            for region, doc_id, _ in point_sample:
                t0 = time.perf_counter()
                found = store.get_rendered(region, doc_id)
                point_s.append(time.perf_counter() - t0)
                if found is None:
                    raise RuntimeError(f"{doc_id} vanished while measured")
            range_s: list[float] = []
            for region, first in range_sample:
                last = (date.fromisoformat(first) + timedelta(days=RANGE_DAYS - 1)).isoformat()
                t0 = time.perf_counter()
                store.query_range(region, "day", first, last)
                range_s.append(time.perf_counter() - t0)
            store.close()
            rows.append(
                {
                    "round": round_no,
                    "mmap_mib": map_size >> 20,
                    "point_reads": len(point_s),
                    "point_p50_us": _p50_us(point_s),
                    "ranges": len(range_s),
                    "range_31d_p50_us": _p50_us(range_s) if range_s else None,
                }
            )
            print("  " + "  ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_reads", description=__doc__.split("\n\n")[0])
    parser.add_argument("documents", type=Path, help="a materialized documents.sqlite (opened as the API opens it)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--points", type=int, default=1500, help="distinct day documents per cell")
    parser.add_argument("--ranges", type=int, default=100, help="31-day ranges per cell")
    args = parser.parse_args(argv)
    print(f"cold reads of {args.documents}, load average {[round(x, 2) for x in os.getloadavg()]}")
    cold_cells(args.documents, rounds=args.rounds, points=args.points, ranges=args.ranges)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
