"""Rate limit over real HTTP on devhost: 429 problem+json with Retry-After and RateLimit headers, per credential."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env
from tests.support.e2e_api import assert_problem

pytestmark = pytest.mark.e2e

KEYS = {"reader": "rate-limit-reader-key", "operator": "rate-limit-operator-key"}


def test_429_over_http_per_credential(launch_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> None:
    api_keys = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in KEYS.items())
    env = devhost_env(tmp_path, API_KEYS=api_keys, RATE_LIMIT_REQUESTS="4", RATE_LIMIT_WINDOW_SECONDS="3600")
    host = launch_devhost(data_dir=tmp_path, env=env, serve_args=["--no-run-timers-at-start", "--no-sample"])
    session = requests.Session()

    def get(path: str, key: str | None) -> requests.Response:
        headers = {"X-API-Key": key} if key else {}
        return session.get(host.base_url + path, headers=headers, timeout=30)

    answers = [get("/v1/regions", KEYS["reader"]) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert [a.headers["RateLimit"].split(";")[1] for a in answers] == ["r=3", "r=2", "r=1", "r=0", "r=0"]
    limited = get("/v1/production/regional/11/2024-01-01", KEYS["reader"])  # every keyed route shares the bucket
    body = assert_problem(limited, 429)
    assert body["type"] == "urn:eco2mix:problem:rate-limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["RateLimit-Policy"] == '"credential";q=4;w=3600'
    assert limited.headers["RateLimit"].startswith('"credential";r=0;t=')
    assert get("/v1/regions", KEYS["operator"]).status_code == 200  # another credential
    assert get("/v1/regions", "made-up-key").status_code == 401  # a random key is refused, not counted afresh
    assert get("/v1/health", None).status_code in (200, 503)  # public: its address's bucket, not a credential's
    session.close()


def test_public_routes_and_repeated_401s_are_rate_limited(
    launch_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    """Per client address: devhost appends its peer's address to X-Forwarded-For as Azure's front end does, so
    a forged header changes nothing; refused credentials empty a bucket of their own, then even a good key waits."""
    api_keys = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in KEYS.items())
    env = devhost_env(tmp_path, API_KEYS=api_keys, RATE_LIMIT_ANONYMOUS_REQUESTS="3", RATE_LIMIT_WINDOW_SECONDS="3600")
    host = launch_devhost(data_dir=tmp_path, env=env, serve_args=["--no-run-timers-at-start", "--no-sample"])
    session = requests.Session()

    def get(path: str, key: str | None = None, forged: str | None = None) -> requests.Response:
        headers = {"X-API-Key": key} if key else {}
        if forged:
            headers["X-Forwarded-For"] = forged
        return session.get(host.base_url + path, headers=headers, timeout=30)

    public = [get("/v1/health", forged=f"198.51.100.{n}") for n in range(3)] + [get("/v1/openapi.json")]
    assert [r.status_code in (200, 503) for r in public[:3]] == [True, True, True]
    body = assert_problem(public[3], 429)  # every public route shares the address's bucket
    assert body["type"] == "urn:eco2mix:problem:rate-limited" and int(public[3].headers["Retry-After"]) > 0
    assert public[3].headers["RateLimit-Policy"] == '"address-public";q=3;w=3600'
    assert get("/v1/regions", KEYS["reader"]).status_code == 200  # a keyed route: the credential's bucket

    refused = [get("/v1/regions", f"made-up-key-{n}").status_code for n in range(3)]
    assert refused == [401, 401, 401]
    limited = get("/v1/regions", "made-up-key-3")
    assert_problem(limited, 429)
    assert limited.headers["RateLimit-Policy"] == '"address-refused";q=3;w=3600'
    assert get("/v1/regions", None).status_code == 429  # no key at all is refused the same way
    assert get("/v1/regions", KEYS["reader"]).status_code == 429  # answered before any credential check
    session.close()
