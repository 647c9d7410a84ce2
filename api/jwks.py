"""Signing keys of bearer tokens: the tenant's JWKS, cached for a bounded time, fetched by one thread at a time.

PyJWKClient(cache_keys=True) keeps a key for the life of the worker (a key rotated out still verifies), and
it fetches under a lock held by every caller, so an unreachable JWKS made the n-th request wait n × timeout.
Here the set expires after `ttl`; one fetch is in flight at a time and the others wait for *its* outcome; a
failed fetch is remembered for `retry_after` seconds, during which callers are answered at once.

The fetch runs on a thread of its own, never the caller's: a caller on an event loop (an async trigger's
envelope) is answered at once, never made to wait for the network: it gets the last good key while a refresh
is in flight, else JwksUnavailable(1). The one exception is the instance's first fetch, which it waits for (a cold
instance has no key to give). When fetches fail, the last good set keeps verifying for `grace` seconds
past its expiry, so a JWKS outage does not turn every bearer request into a 503 at the TTL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

FETCH_TIMEOUT_SECONDS = 5.0
FAILURE_RETRY_AFTER_SECONDS = 30
# An unknown `kid` refetches the set at most this often (a token with a random kid must not drive fetches).
UNKNOWN_KID_REFRESH_SECONDS = 60.0


class JwksUnavailable(Exception):
    """The key set could not be fetched: the caller may retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the signing keys are unavailable; retry after {retry_after} s")
        self.retry_after = retry_after


class UnknownKey(Exception):
    """No key of the current set has the token's `kid`."""


@dataclass
class _Fetch:
    done: threading.Event
    keys: dict[str, Any] | None = None
    failed: bool = False


class JwksCache:
    def __init__(
        self,
        url: str,
        ttl: float,
        timeout: float = FETCH_TIMEOUT_SECONDS,
        retry_after: int = FAILURE_RETRY_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        grace: float = 0.0,
    ) -> None:
        # The library fetches and parses; its own caches are off (this class owns expiry and concurrency).
        self._client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)
        self.ttl = ttl
        self.timeout = timeout
        self.retry_after = retry_after
        self.grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._inflight: _Fetch | None = None
        self.fetches = 0

    def key(self, kid: str | None) -> Any:
        """The verification key for `kid`; UnknownKey or JwksUnavailable otherwise."""
        now = self._clock()
        with self._lock:
            fresh = self._fetched_at is not None and now - self._fetched_at < self.ttl
            if fresh and kid in self._keys:
                return self._keys[kid]
            may_refresh = not fresh or self._fetched_at is None or now - self._fetched_at >= UNKNOWN_KID_REFRESH_SECONDS
            if fresh and not may_refresh:
                raise UnknownKey(kid)
            stale = self._stale_key(kid, now)
            if self._failed_at is not None and now - self._failed_at < self.retry_after:
                if stale is not None:  # the JWKS fails: the last good set, within its grace period
                    return stale
                raise JwksUnavailable(max(1, round(self.retry_after - (now - self._failed_at))))
            fetch, leader = (self._inflight, False) if self._inflight else (_Fetch(threading.Event()), True)
            self._inflight = fetch
        if leader:  # on a thread of its own: the caller may be an event loop
            threading.Thread(target=self._run, args=(fetch,), name="jwks-fetch", daemon=True).start()
        if _on_event_loop() and (stale is not None or self._fetched_at is not None or self._failed_at is not None):
            # Waiting here would stall every request of the loop for up to the timeout: the last good key, or a
            # quick retry. Only an instance's very first fetch is waited for (below): answering every bearer
            # request of a cold instance with 503 would fail each scale-out's first callers.
            if stale is not None:
                return stale
            raise JwksUnavailable(1)
        if not fetch.done.wait(self.timeout * 2) or fetch.failed or fetch.keys is None:
            if stale is not None:
                return stale
            raise JwksUnavailable(self.retry_after)
        if kid not in fetch.keys:
            raise UnknownKey(kid)
        return fetch.keys[kid]

    def _stale_key(self, kid: str | None, now: float) -> Any:
        """`kid`'s key in the last good set while that set is within its TTL + grace, else None."""
        if self._fetched_at is None or now - self._fetched_at >= self.ttl + self.grace:
            return None
        return self._keys.get(kid)  # type: ignore[arg-type]

    def _run(self, fetch: _Fetch) -> None:
        try:
            self.fetches += 1
            keys = {k.key_id: k.key for k in self._client.get_signing_keys() if k.key_id}
        except (jwt.PyJWKClientError, jwt.exceptions.PyJWKSetError, OSError, ValueError):
            keys = None
        with self._lock:
            if keys is None:
                fetch.failed = True
                self._failed_at = self._clock()
            else:
                fetch.keys = keys
                self._keys, self._fetched_at, self._failed_at = keys, self._clock(), None
            self._inflight = None
        fetch.done.set()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@lru_cache(maxsize=4)
def jwks_cache(url: str, ttl: float, grace: float = 0.0) -> JwksCache:
    """One cache per JWKS URL and worker."""
    return JwksCache(url, ttl, grace=grace)
