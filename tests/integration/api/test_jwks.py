"""The JWKS cache against a real HTTP endpoint: expiry, rotation, one fetch in flight, fast failures."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.jwks import JwksCache, JwksUnavailable, UnknownKey


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


@dataclass
class JwksServer:
    """A JWKS endpoint whose keys, status and answer delay the test changes; it counts the fetches."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    release: threading.Event = field(default_factory=threading.Event)  # answers wait for it
    hits: int = 0
    url: str = ""


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()
    state.release.set()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            state.release.wait(10)
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/keys"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def test_a_rotated_out_key_stops_verifying_after_the_ttl(
    jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey]
) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, ttl=600, clock=clock)
    jwks_server.keys = [jwk(keys[0], "old")]
    assert cache.key("old") is not None
    jwks_server.keys = [jwk(keys[1], "new")]
    clock.now += 599
    assert cache.key("old") is not None and jwks_server.hits == 1  # still cached
    clock.now += 2
    with pytest.raises(UnknownKey):
        cache.key("old")
    assert cache.key("new") is not None and jwks_server.hits == 2


def test_an_unknown_kid_refetches_at_most_once_a_minute(jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey]) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, ttl=3600, clock=clock)
    jwks_server.keys = [jwk(keys[0], "a")]
    cache.key("a")
    for _ in range(5):
        with pytest.raises(UnknownKey):
            cache.key("random-kid")
    assert jwks_server.hits == 1
    jwks_server.keys.append(jwk(keys[1], "b"))
    clock.now += 61
    assert cache.key("b") is not None and jwks_server.hits == 2


@pytest.mark.parametrize("status", [500, 404])
def test_concurrent_callers_share_one_fetch_and_a_failure_is_answered_at_once(
    jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey], status: int
) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, ttl=600, timeout=5, retry_after=30, clock=clock)
    jwks_server.status = status
    jwks_server.release.clear()  # the endpoint hangs until released
    outcomes: list[str] = []

    def call() -> None:
        try:
            cache.key("k")
            outcomes.append("key")
        except JwksUnavailable as exc:
            outcomes.append(f"unavailable {exc.retry_after}")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    jwks_server.release.set()
    for thread in threads:
        thread.join(20)
    assert outcomes == ["unavailable 30"] * 8
    assert jwks_server.hits == 1  # one fetch for eight callers
    clock.now += 10
    with pytest.raises(JwksUnavailable) as err:
        cache.key("k")
    assert err.value.retry_after == 20 and jwks_server.hits == 1  # answered without a fetch
    jwks_server.status, jwks_server.keys = 200, [jwk(keys[0], "k")]
    clock.now += 21
    assert cache.key("k") is not None
    assert jwks_server.hits == 2  # tried again after the retry delay


def test_an_endpoint_that_never_answers_is_bounded_by_the_timeout(jwks_server: JwksServer) -> None:
    jwks_server.release.clear()
    cache = JwksCache(jwks_server.url, ttl=600, timeout=0.2, retry_after=30)
    with pytest.raises(JwksUnavailable):
        cache.key("k")
    assert jwks_server.hits == 1


def test_jwks_fetch_failure_keeps_the_last_good_keys_for_the_grace_period(
    jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey]
) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, ttl=600, retry_after=30, clock=clock, grace=3600)
    jwks_server.keys = [jwk(keys[0], "k")]
    good = cache.key("k")
    jwks_server.status = 500  # the JWKS endpoint fails from now on
    clock.now += 601
    assert cache.key("k") is good and jwks_server.hits == 2  # refetched, failed: the last good key
    clock.now += 10
    assert cache.key("k") is good and jwks_server.hits == 2  # within retry_after: no fetch, still served
    with pytest.raises(JwksUnavailable):  # a kid the last good set never had is not made up
        cache.key("other")
    clock.now += 600 + 3600  # past the TTL + grace
    with pytest.raises(JwksUnavailable):
        cache.key("k")
    assert jwks_server.hits == 3


def test_jwks_fetch_failure_without_grace_is_unavailable_at_the_ttl(
    jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey]
) -> None:
    clock = Clock()
    cache = JwksCache(jwks_server.url, ttl=600, clock=clock)  # grace 0: the TTL is a hard bound
    jwks_server.keys = [jwk(keys[0], "k")]
    cache.key("k")
    jwks_server.status = 500
    clock.now += 601
    with pytest.raises(JwksUnavailable):
        cache.key("k")


async def test_jwks_fetch_never_blocks_the_event_loop(jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey]) -> None:
    """On an event loop, an instance's first fetch is waited for (a cold instance has no key to give); after it, an
    expired set answers its last good key at once while the refresh runs on its own thread (the endpoint hangs
    until released here), and a failed first fetch is not waited for again."""
    clock = Clock()
    cache = JwksCache(jwks_server.url, ttl=600, timeout=5, clock=clock, grace=3600)
    jwks_server.keys = [jwk(keys[0], "k")]
    good = cache.key("k")  # the first fetch: waited for
    assert jwks_server.hits == 1
    jwks_server.release.clear()
    jwks_server.keys = [jwk(keys[1], "k2")]
    clock.now += 601
    started = time.perf_counter()
    assert cache.key("k") is good  # expired: the last good key while the refresh hangs
    assert time.perf_counter() - started < 0.5
    jwks_server.release.set()
    for _ in range(1000):  # up to 10 s: a loaded machine may take its time
        await asyncio.sleep(0.01)
        if jwks_server.hits == 2 and cache._inflight is None:
            break
    with pytest.raises(UnknownKey):  # refreshed in the background: the rotated-out kid is gone
        cache.key("k")
    assert cache.key("k2") is not None


async def test_jwks_first_fetch_that_failed_is_not_waited_for_again() -> None:
    clock = Clock()
    cache = JwksCache("http://127.0.0.1:9/jwks", ttl=600, timeout=1, clock=clock)  # nothing listens there
    with pytest.raises(JwksUnavailable):
        cache.key("k")
    clock.now += 60  # past the failure's retry_after: a new fetch starts, on its own thread
    started = time.perf_counter()
    with pytest.raises(JwksUnavailable) as err:
        cache.key("k")
    assert err.value.retry_after == 1 and time.perf_counter() - started < 0.5


def test_jwks_fetch_runs_on_its_own_thread(jwks_server: JwksServer, keys: list[rsa.RSAPrivateKey]) -> None:
    seen: list[str] = []

    class Recording(JwksCache):
        def _run(self, fetch: Any) -> None:
            seen.append(threading.current_thread().name)
            super()._run(fetch)

    jwks_server.keys = [jwk(keys[0], "k")]
    assert Recording(jwks_server.url, ttl=600).key("k") is not None
    assert seen == ["jwks-fetch"]
