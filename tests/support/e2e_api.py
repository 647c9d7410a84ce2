"""Shared by the e2e tests: what the `devhost_server` fixture yields, an HTTP client on it and the problem+json
checks."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

PROBLEM_KEYS = {"type", "title", "status", "detail", "request_id"}
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TIMEOUT = 30


REPO = Path(__file__).resolve().parents[2]
MATERIALIZED_TIMEOUT = 180.0
# HEALTH_STALE_AFTER_SECONDS for a devhost on the 2024 sample data whose health must say "ok": 20 years.
SAMPLE_STALE_AFTER_SECONDS = str(20 * 365 * 86400)


@dataclass
class DevhostServer:
    """What tests/e2e/conftest.py's `devhost_server` fixture yields: devhost on the sample Gold, materialized."""

    base_url: str
    reader_key: str
    operator_key: str
    data_dir: Path


@dataclass
class Api:
    """requests on devhost; every response is kept so that all error shapes can be checked at once."""

    server: DevhostServer
    session: requests.Session = field(default_factory=requests.Session)
    seen: list[requests.Response] = field(default_factory=list)

    def key(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        keys = {"reader": self.server.reader_key, "operator": self.server.operator_key, "wrong": "not-a-key"}
        return {"X-API-Key": keys[role]}

    def call(
        self, method: str, path: str, *, role: str | None = "reader", headers: dict[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        merged = {**self.key(role), **(headers or {})}
        kw.setdefault("allow_redirects", False)
        resp = self.session.request(method, self.server.base_url + path, headers=merged, timeout=TIMEOUT, **kw)
        self.seen.append(resp)
        return resp

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)


def prepared_dir(root: Path, name: str, gold: Path) -> Path:
    """A DATA_DIR holding only a consistent copy of the sample Gold DB (sqlite backup, WAL-safe)."""
    directory = root / name
    directory.mkdir()
    with sqlite3.connect(gold) as source, sqlite3.connect(directory / "gold.sqlite") as target:
        source.backup(target)
    return directory


def assert_problem(resp: requests.Response, status: int | None = None) -> dict[str, Any]:
    """The one error shape: problem+json with request_id = X-Request-ID, typed errors, no stack trace."""
    if status is not None:
        assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.status_code >= 400
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    rid = resp.headers["X-Request-ID"]
    assert REQUEST_ID.fullmatch(rid)
    body = resp.json()
    assert PROBLEM_KEYS <= body.keys() <= PROBLEM_KEYS | {"errors"}, body
    assert body["status"] == resp.status_code and body["request_id"] == rid
    assert isinstance(body["title"], str) and isinstance(body["detail"], str) and body["type"]
    for error in body.get("errors") or []:
        assert set(error) == {"parameter", "message"}
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    return body


def body_json(resp: requests.Response) -> Any:
    return json.loads(resp.content)
