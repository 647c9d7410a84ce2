"""`python -m bench.webhook_overhead`: what webhook delivery adds to a 1-year materialization.

Per round, two fresh DATA_DIRs with the same 1-year sample Gold DB (every region): a backfill of the whole year
with no subscription, and one with N subscriptions to a local receiver (127.0.0.1, WEBHOOKS_ALLOW_LOOPBACK).
Reported: the backfill's duration (created → completed, the materialization itself: the orchestrator's extra
step after the commit included), and with subscriptions, when the last delivery was acknowledged (the
deliveries run in their own orchestrations after the commit, so they do not lengthen the run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.gold_data import cached_gold, copy_gold
from devhost.testing import DevhostProcess, devhost_env, free_port, new_api_keys
from tests.support.webhook_receiver import Receiver, acknowledged_items

WORK_DIR = Path(".bench")
QUIET = "0 0 0 1 1 *"


def one_run(root: Path, gold: Path, subscriptions: int, receiver: Receiver, tag: str) -> dict[str, Any]:
    data_dir = root / tag
    copy_gold(gold, data_dir / "gold.sqlite")
    keys = new_api_keys()
    env = devhost_env(data_dir, API_KEYS=keys.env_value, MATERIALIZE_SCHEDULE=QUIET, WEBHOOKS_ALLOW_LOOPBACK="true")
    host = DevhostProcess(data_dir, free_port(), [], env, ["--no-run-timers-at-start"]).start()
    try:
        paths = [f"/{tag}/{n}" for n in range(subscriptions)]
        for path in paths:
            response = requests.post(
                f"{host.base_url}/v1/webhooks",
                json={"url": receiver.url(path)},
                headers={"X-API-Key": keys.reader},
                timeout=30,
            )
            assert response.status_code == 201, response.text
        started = time.monotonic()
        response = requests.post(
            f"{host.base_url}/v1/admin/backfills",
            json={"start_date": "2024-01-01", "end_date": "2024-12-31"},
            headers={"X-API-Key": keys.operator},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        status = host.wait_for(response.json()["id"], 1800)
        assert status["runtimeStatus"] == "Completed", status
        materialized = time.monotonic() - started
        run_seconds = _seconds(status["createdTime"], status["lastUpdatedTime"])
        result: dict[str, Any] = {
            "subscriptions": subscriptions,
            "wall_s": round(materialized, 2),
            "run_s": run_seconds,
        }
        if paths:
            feed = _feed_size(host, keys.reader)
            receiver.wait_until(
                lambda: all(len(acknowledged_items(receiver.at(p))) >= feed for p in paths), 1800, "every delivery"
            )
            result |= {
                "changes": feed,
                "deliveries": sum(len(receiver.at(p)) for p in paths),
                "all_delivered_after_s": round(time.monotonic() - started, 2),
            }
        return result
    finally:
        host.stop()


def _seconds(created: str, updated: str) -> float:
    from datetime import datetime

    return (
        datetime.fromisoformat(updated.replace("Z", "+00:00")) - datetime.fromisoformat(created.replace("Z", "+00:00"))
    ).total_seconds()


def _feed_size(host: DevhostProcess, key: str) -> int:
    count, url = 0, f"{host.base_url}/v1/changes?limit=1000"
    while url:
        page = requests.get(url, headers={"X-API-Key": key}, timeout=30).json()
        count += page["count"]
        url = page["next"]
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_overhead", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--subscriptions", type=int, default=3)
    args = parser.parse_args(argv)
    gold, _ = cached_gold(WORK_DIR / "gold", 1, 2024, seed=7)
    receiver = Receiver().start()
    runs: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="webhook-overhead-") as tmp:
            for n in range(args.rounds):
                for subs in (0, args.subscriptions) if n % 2 == 0 else (args.subscriptions, 0):
                    runs.append(one_run(Path(tmp), gold, subs, receiver, f"r{n}-s{subs}"))
                    print(json.dumps(runs[-1]), flush=True)
    finally:
        receiver.stop()
    base = statistics.median(r["run_s"] for r in runs if r["subscriptions"] == 0)
    subscribed = statistics.median(r["run_s"] for r in runs if r["subscriptions"])
    print(json.dumps({"median_run_s_without": base, "median_run_s_with": subscribed,
                      "added_pct": round(100 * (subscribed - base) / base, 1)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
