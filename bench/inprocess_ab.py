"""`python -m bench.inprocess_ab [--baseline REV]`: the in-process CPU per request of this tree (its working
copy, changes included) against a git revision (default HEAD), alternated in one run.

Absolute µs move with the machine: f3e0566's point read took 13.5 µs on one session's machine and 35 µs on the
next. A change is judged by the ratio of both sides measured in turns in one run: the revision checked out as
a git worktree and this tree, each on a DATA_DIR its own code materialized from the same cached sample Gold,
both measured by this tree's harness (bench.inprocess).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

from devhost.testing import REPO_ROOT

SHAPES = ("point_read", "range_31d_hourly", "range_1y_daily", "csv_export")


def worktree(revision: str, work_dir: Path) -> Path:
    """A detached worktree of `revision` holding this tree's harness and sharing the cached sample Gold."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = work_dir / f"tree-{commit}"
    if not (tree / ".git").exists():
        subprocess.run(["git", "worktree", "prune"], cwd=REPO_ROOT, check=True)
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=REPO_ROOT, check=True)
    # The measuring code is this tree's, so that both sides are measured the same way.
    shutil.copyfile(REPO_ROOT / "bench" / "inprocess.py", tree / "bench" / "inprocess.py")
    gold = tree / ".bench" / "gold"
    if not gold.exists():
        gold.parent.mkdir(parents=True, exist_ok=True)
        (REPO_ROOT / ".bench" / "gold").mkdir(parents=True, exist_ok=True)
        gold.symlink_to(REPO_ROOT / ".bench" / "gold", target_is_directory=True)
    return tree


def measure(tree: Path, requests: int) -> dict[str, dict[str, Any]]:
    """One pass of bench.inprocess in a child whose imports resolve to `tree`'s code."""
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        out = Path(tmp) / "cpu.json"
        # The production shapes alone: an older tree may not have the other functions.
        argv = [sys.executable, "-m", "bench.inprocess", "--requests", str(requests), "--json", str(out)]
        argv.append("--shapes-only")
        subprocess.run(argv, cwd=tree, check=True, timeout=1800, stdout=subprocess.DEVNULL)
        figures: dict[str, dict[str, Any]] = json.loads(out.read_text())
    return figures


def compare(
    baseline: list[dict[str, dict[str, Any]]], current: list[dict[str, dict[str, Any]]]
) -> dict[str, dict[str, float]]:
    """Per shape: the median CPU µs of each side over its passes, and baseline / current."""
    rows: dict[str, dict[str, float]] = {}
    for shape in SHAPES:
        before = median(run[shape]["cpu_us_per_request"] for run in baseline)
        now = median(run[shape]["cpu_us_per_request"] for run in current)
        rows[shape] = {
            "baseline_us": round(before, 1),
            "current_us": round(now, 1),
            "x_less_cpu": round(before / now, 2),
        }
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess_ab", description=__doc__)
    parser.add_argument("--baseline", default="HEAD", help="git revision (default HEAD)")
    parser.add_argument("--rounds", type=int, default=3, help="passes of each side, alternated (default 3)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per shape and pass (default 2000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    base_tree = worktree(args.baseline, REPO_ROOT / ".bench" / "ab")
    baseline: list[dict[str, dict[str, Any]]] = []
    current: list[dict[str, dict[str, Any]]] = []
    for k in range(args.rounds):
        baseline.append(measure(base_tree, args.requests))
        current.append(measure(REPO_ROOT, args.requests))
        brief = {s: (baseline[-1][s]["cpu_us_per_request"], current[-1][s]["cpu_us_per_request"]) for s in SHAPES}
        print(f"  round {k + 1}: (baseline µs, current µs) {brief}", flush=True)
    rows = compare(baseline, current)
    print(f"{'shape':<18} {'baseline µs':>11} {'current µs':>10} {'x less CPU':>10}")
    for shape, row in rows.items():
        print(f"{shape:<18} {row['baseline_us']:>11} {row['current_us']:>10} {row['x_less_cpu']:>10}")
    if args.json:
        args.json.write_text(
            json.dumps({"baseline": args.baseline, "rows": rows, "runs": [baseline, current]}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
