"""The real app: kill -9 devhost during a backfill, restart it, and get the same documents and files
byte for byte as an uninterrupted backfill of the same range."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env
from tests.support.e2e_api import DevhostServer, prepared_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RANGE = {"start_date": "2024-03-01", "end_date": "2024-04-30"}  # includes the spring DST day
NO_TIMER = ["--no-run-timers-at-start"]


def documents_of(data_dir: Path) -> list[tuple[Any, ...]]:
    """The served documents (the changes feed, histories and announced indexes carry times and run order: see
    announced_of; the `runs` record, the forecasts and intensity-now say when they were made)."""
    with sqlite3.connect(data_dir / "documents.sqlite") as conn:
        return conn.execute(
            "SELECT * FROM documents WHERE region_code <> '_changes'"
            " AND doc_type NOT IN ('revisions', 'announced', 'runs', 'forecast', 'intensity-now') ORDER BY 1, 2"
        ).fetchall()


def announced_of(data_dir: Path) -> tuple[set[tuple[Any, ...]], dict[str, Any]]:
    """What the changes feed announced (document and content; a resumed batch may announce twice), the
    latest version in each history and the hashes each region-month's index says were announced."""
    with sqlite3.connect(data_dir / "documents.sqlite") as conn:
        pages = conn.execute("SELECT body FROM documents WHERE region_code = '_changes' AND doc_type = 'changes'")
        announced = {
            (e["region"], e["kind"], e["key"], e["content_hash"])
            for (body,) in pages
            for e in json.loads(body)["entries"]
        }
        histories = conn.execute("SELECT id, body FROM documents WHERE doc_type = 'revisions'").fetchall()
        indexes = conn.execute("SELECT id, body FROM documents WHERE doc_type = 'announced'").fetchall()
    latest: dict[str, Any] = {i: json.loads(body)["versions"][-1]["content_hash"] for i, body in histories}
    latest |= {i: json.loads(body)["hashes"] for i, body in indexes}
    return announced, latest


def files_of(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "files"
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def start_backfill(host: DevhostProcess, operator_key: str) -> str:
    response = requests.post(
        f"{host.base_url}/v1/admin/backfills", json=RANGE, headers={"X-API-Key": operator_key}, timeout=30
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_backfill_survives_kill_9(
    launch_devhost: Callable[..., DevhostProcess], devhost_server: DevhostServer, tmp_path: Path
) -> None:
    key = secrets.token_urlsafe(16)
    api_keys = f"operator:{hashlib.sha256(key.encode()).hexdigest()}"
    gold = devhost_server.data_dir / "gold.sqlite"

    def launch(data_dir: Path, port: int | None = None, **settings: str) -> DevhostProcess:
        # A yearly schedule and no run at start: only the backfill writes documents.
        env = devhost_env(data_dir, API_KEYS=api_keys, MATERIALIZE_SCHEDULE="0 0 0 1 1 *", **settings)
        return launch_devhost(data_dir=data_dir, env=env, port=port, serve_args=NO_TIMER)

    reference = launch(prepared_dir(tmp_path, "reference", gold))
    instance_id = start_backfill(reference, key)
    assert reference.wait_for(instance_id, 300)["runtimeStatus"] == "Completed"
    reference.stop()

    crash_dir = prepared_dir(tmp_path, "crash", gold)
    # One worker process: the backfill runs long enough for this poll, sharing the cores with it at the same
    # priority, to kill it midway (the resumed run uses the default count: the result may not depend on it).
    crashing = launch(crash_dir, FUNCTIONS_WORKER_PROCESS_COUNT="1")
    assert start_backfill(crashing, key) == instance_id
    deadline = time.monotonic() + 300
    while sum(1 for p in (crash_dir / "files").rglob("*") if p.is_file()) < 20:
        assert time.monotonic() < deadline, crashing.output()[-3000:]
        time.sleep(0.05)
    crashing.kill()
    assert crashing.process is not None and crashing.process.returncode == -9
    assert len(files_of(crash_dir)) < len(files_of(reference.data_dir))

    resumed = launch(crash_dir, port=crashing.port)
    assert resumed.wait_for(instance_id, 300)["runtimeStatus"] == "Completed"
    resumed.stop()
    assert documents_of(crash_dir) == documents_of(reference.data_dir)
    assert announced_of(crash_dir) == announced_of(reference.data_dir)
    assert files_of(crash_dir) == files_of(reference.data_dir)
