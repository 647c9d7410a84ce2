"""CORS over HTTP on a devhost configured with CORS_ALLOWED_ORIGINS (no sample data needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devhost.testing import devhost_env

pytestmark = pytest.mark.e2e

ALLOWED = "https://dashboard.example"
READER_KEY = "cors-reader-key"


@pytest.fixture
def cors_host(launch_devhost: Callable[..., Any], tmp_path: Any) -> Any:
    env = devhost_env(
        tmp_path / "cors",
        CORS_ALLOWED_ORIGINS=f"{ALLOWED}, https://other.example",
        API_KEYS=f"reader:{hashlib.sha256(READER_KEY.encode()).hexdigest()}",
    )
    return launch_devhost(data_dir=tmp_path / "cors", env=env, serve_args=["--no-sample", "--no-run-timers-at-start"])


def test_preflight_and_responses_carry_cors_headers_for_allowed_origins_only(cors_host: Any) -> None:
    base = cors_host.base_url
    preflight = requests.options(
        f"{base}/v1/regions",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
        timeout=30,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]

    allowed = requests.get(f"{base}/v1/regions", headers={"Origin": ALLOWED, "X-API-Key": READER_KEY}, timeout=30)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"] and "Origin" in allowed.headers["Vary"]

    # Errors carry CORS headers too, so a browser can read the problem document.
    denied_key = requests.get(f"{base}/v1/regions", headers={"Origin": ALLOWED}, timeout=30)
    assert denied_key.status_code == 401 and denied_key.headers["Access-Control-Allow-Origin"] == ALLOWED

    foreign = requests.get(f"{base}/v1/health", headers={"Origin": "https://evil.example"}, timeout=30)
    assert "Access-Control-Allow-Origin" not in foreign.headers
    foreign_preflight = requests.options(
        f"{base}/v1/regions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=30,
    )
    assert "Access-Control-Allow-Origin" not in foreign_preflight.headers
