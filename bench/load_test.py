"""Load test: a mix of the read routes at high concurrency while an operator backfill runs; nothing may be lost."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from bench.http_load import run_cell
from bench.shapes import SHAPES, Span
from devhost.testing import ApiKeys

TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


def document_counts(data_dir: Path) -> dict[str, int] | None:
    """Documents by doc_type in the embedded store (any SQLite file under DATA_DIR with a `documents` table)."""
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.suffix not in (".sqlite", ".db", ".sqlite3") or "gold" in path.name:
            continue
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
                rows = conn.execute("SELECT doc_type, COUNT(*) FROM documents GROUP BY doc_type").fetchall()
        except sqlite3.Error:
            continue
        return {str(doc_type): int(count) for doc_type, count in rows}
    return None


def _mixed_path(span: Span) -> tuple[Any, Any]:
    names = list(SHAPES)
    expected_by_route = {"/v1/export/csv": 302}

    def make_path(rng: random.Random) -> str:
        build, _ = SHAPES[rng.choice(names)]
        return build(rng, span).path

    def expect(path: str) -> int:
        return expected_by_route.get(path.split("?")[0], 200)

    return make_path, expect


def start_backfill(base_url: str, keys: ApiKeys, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """POST /v1/admin/backfills as an operator; (status URL, response JSON)."""
    resp = requests.post(f"{base_url}/v1/admin/backfills", json=body, headers={"X-API-Key": keys.operator}, timeout=30)
    if resp.status_code != 202:
        raise RuntimeError(f"backfill not accepted: HTTP {resp.status_code} {resp.text[:300]}")
    payload: dict[str, Any] = resp.json()
    location = resp.headers.get("Location") or payload.get("status_url") or f"/v1/admin/backfills/{payload['id']}"
    return urljoin(base_url + "/", location), payload


def _runtime_status(body: dict[str, Any]) -> str | None:
    for key in ("runtimeStatus", "runtime_status", "status"):
        value = body.get(key)
        if isinstance(value, str):
            return value
    return None


def wait_backfill(status_url: str, keys: ApiKeys, timeout: float) -> tuple[dict[str, Any], float]:
    """Poll the backfill's status until terminal; (last status body, seconds waited)."""
    started = time.monotonic()
    body: dict[str, Any] = {}
    while time.monotonic() - started < timeout:
        resp = requests.get(status_url, headers={"X-API-Key": keys.operator}, timeout=30)
        if resp.status_code == 200 or resp.status_code == 202:
            body = resp.json()
            if _runtime_status(body) in TERMINAL:
                break
        time.sleep(0.5)
    return body, round(time.monotonic() - started, 1)


def run_load_test(
    base_url: str,
    keys: ApiKeys,
    data_dir: Path,
    span: Span,
    *,
    duration_s: float,
    concurrency: int,
    backfill: dict[str, Any],
    backfill_timeout: float = 900.0,
    accept_encoding: str | None = None,
) -> dict[str, Any]:
    """Reads at `concurrency` for `duration_s` while the backfill runs; errors, backfill outcome, doc counts.

    The client asks for gzip (aiohttp's default Accept-Encoding, as browsers do) unless `accept_encoding` says
    otherwise ("identity": uncompressed answers, to see what compression costs both sides)."""
    before = document_counts(data_dir)
    catalog_before = requests.get(f"{base_url}/v1/regions", headers={"X-API-Key": keys.reader}, timeout=30).json()
    make_path, expect = _mixed_path(span)

    status_url, accepted = start_backfill(base_url, keys, backfill)
    backfill_started = time.monotonic()
    backfill_done_at: list[float] = []

    def watch() -> None:
        result[0], _ = wait_backfill(status_url, keys, backfill_timeout)
        backfill_done_at.append(time.monotonic() - backfill_started)

    result: list[dict[str, Any]] = [{}]
    watcher = threading.Thread(target=watch, name="backfill-watch", daemon=True)
    watcher.start()
    headers = {"X-API-Key": keys.reader, **({"Accept-Encoding": accept_encoding} if accept_encoding else {})}
    cell = asyncio.run(
        run_cell(
            base_url,
            headers,
            make_path,
            concurrency,
            expect_status=expect,
            duration_s=duration_s,
            max_requests=10_000_000,
            seed=7,
        )
    )
    running_when_load_ended = not backfill_done_at
    watcher.join(timeout=backfill_timeout + 60)
    after = document_counts(data_dir)
    catalog_after = requests.get(f"{base_url}/v1/regions", headers={"X-API-Key": keys.reader}, timeout=30).json()
    status = result[0]
    summary = cell.summary()
    return {
        **summary,
        "error_kinds": dict(cell.errors),
        "concurrency": concurrency,
        "accept_encoding": accept_encoding or "client default (gzip, deflate)",
        "backfill_request": backfill,
        "backfill_accepted": accepted,
        "backfill_status": _runtime_status(status),
        "backfill_output": status.get("output"),
        "backfill_seconds": round(backfill_done_at[0], 1) if backfill_done_at else None,
        "backfill_overlapped_whole_load": running_when_load_ended,
        "documents_before": before,
        "documents_after": after,
        "documents_unchanged": before is not None and before == after,
        "catalog_unchanged": catalog_before == catalog_after,
        "nothing_lost": _runtime_status(status) == "Completed" and before == after and catalog_before == catalog_after,
    }
