"""Per-credential rate limit of this instance: a token bucket per caller, with IETF RateLimit headers.

Works without APIM (devhost, a Function App reached directly): each instance holds its own buckets, so the
effective limit across N scaled-out instances is up to N times the setting. The bucket key is the validated
credential (an API key's id or a token's subject, see api.auth.Principal), never a raw header: a random key
per request gets a 401, not a fresh bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

POLICY_NAME = "credential"
MAX_TRACKED_CALLERS = 10_000  # idle buckets beyond this are dropped (a dropped bucket restarts full)


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled continuously at `rate` per second; a request takes `cost` tokens (one unless it
    is dearer: an export build, api.export)."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float, cost: float = 1) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def seconds_until(self, tokens: float) -> float:
        """Time until the bucket holds `tokens` (0 when it already does)."""
        return max(0.0, (tokens - self.tokens) / self.rate)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # requests per window
    window_seconds: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after_seconds: int  # until one request is allowed (0 when allowed)
    policy: str = POLICY_NAME  # the RateLimit policy's name: "credential", or an address bucket's

    def headers(self) -> dict[str, str]:
        """draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window w) and the current state."""
        headers = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window_seconds}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.monotonic,
        max_callers: int = MAX_TRACKED_CALLERS,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._rate = limit / window_seconds
        self._clock = clock
        self._max_callers = max_callers
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, caller: str, cost: int = 1) -> Decision:
        """Take `cost` tokens from the caller's bucket (all or none; a cost above the limit takes the whole bucket,
        so a dear request stays possible whatever the setting)."""
        cost = max(1, min(cost, self.limit))
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(caller, None) or TokenBucket(self.limit, self._rate, self.limit, now)
            self._buckets[caller] = bucket  # most recently used last
            while len(self._buckets) > self._max_callers:
                self._buckets.popitem(last=False)
            allowed = bucket.take(now, cost)
            remaining = math.floor(bucket.tokens)
            reset = math.ceil(bucket.seconds_until(self.limit))
            retry_after = 0 if allowed else max(1, math.ceil(bucket.seconds_until(cost)))
        return Decision(allowed, self.limit, self.window_seconds, remaining, reset, retry_after)

    def peek(self, caller: str) -> Decision | None:
        """The refusal `check` would give now, without taking a token; None when a request would be allowed."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                return None
            tokens = min(self.limit, bucket.tokens + (now - bucket.updated) * self._rate)
        if tokens >= 1:
            return None
        retry_after = max(1, math.ceil((1 - tokens) / self._rate))
        reset = math.ceil((self.limit - tokens) / self._rate)
        return Decision(False, self.limit, self.window_seconds, 0, reset, retry_after)

    def __len__(self) -> int:
        return len(self._buckets)


_limiters: dict[tuple[int, int], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(limit: int, window_seconds: int) -> RateLimiter:
    """The worker's limiter for these settings (one per process)."""
    with _limiters_lock:
        key = (limit, window_seconds)
        if key not in _limiters:
            _limiters[key] = RateLimiter(limit, window_seconds)
        return _limiters[key]


# Per client address: the public routes, and (a bucket of their own) requests whose credential was refused.
ADDRESS_SCOPES = ("public", "refused")
_address_limiters: dict[tuple[str, int, int], RateLimiter] = {}


def address_limiter(scope: str, limit: int, window_seconds: int) -> RateLimiter:
    """The worker's limiter of client addresses for `scope` (one of ADDRESS_SCOPES) and these settings."""
    with _limiters_lock:
        key = (scope, limit, window_seconds)
        if key not in _address_limiters:
            _address_limiters[key] = RateLimiter(limit, window_seconds)
        return _address_limiters[key]


_MAX_ADDRESS_CHARS = 64  # an IPv6 address with a zone fits; a longer entry is not an address anyone assigned


def client_address(forwarded_for: str | None, trusted_hops: int) -> str:
    """The caller's address for the per-address limits, from X-Forwarded-For as the Functions host passes it.

    The trust rule: the Functions front end appends the address of its own peer as the LAST entry, and each of
    the `trusted_hops` proxies before it (API Management: 1) appended its peer's just left of that. So the entry
    `trusted_hops` places left of the last is the caller as the outermost trusted proxy saw it. Entries further
    left came with the request and are the caller's to invent: never read. Without the header (a host that sets
    none) every caller shares the one bucket "unknown", which fails closed."""
    entries = [entry.strip() for entry in (forwarded_for or "").split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        return "unknown"
    # Fewer entries than trusted hops: a request that skipped a proxy; its nearest known peer is what we have.
    entry = entries[max(0, len(entries) - 1 - trusted_hops)][:_MAX_ADDRESS_CHARS]
    return _without_port(entry)


def _without_port(entry: str) -> str:
    """ "203.0.113.7:51234" -> "203.0.113.7", "[2001:db8::1]:443" -> "2001:db8::1"; a bare IPv6 stays whole."""
    if entry.startswith("["):
        end = entry.find("]")
        return entry[1:end] if end > 0 else entry
    host, colon, port = entry.rpartition(":")
    if colon and host.count(":") == 0 and port.isdigit():
        return host
    return entry
