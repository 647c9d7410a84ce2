"""The token bucket and the per-credential limiter (a settable clock: no sleeping, no wall-clock thresholds)."""

from __future__ import annotations

import pytest

from api.ratelimit import RateLimiter, TokenBucket, client_address


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("capacity", "rate", "steps", "expected"),
    [
        (3, 1.0, [0, 0, 0, 0], [True, True, True, False]),  # a burst of the capacity, then empty
        (3, 1.0, [0, 0, 0, 0, 1.0], [True, True, True, False, True]),  # one token back per second
        (2, 0.5, [0, 0, 1.0, 1.0], [True, True, False, True]),  # half a token per second
        (2, 10.0, [0, 0, 0, 100.0, 0, 0, 0], [True, True, False, True, True, False, False]),  # refill caps
    ],
)
def test_token_bucket(capacity: int, rate: float, steps: list[float], expected: list[bool]) -> None:
    bucket, now, seen = TokenBucket(capacity, rate, capacity, 0.0), 0.0, []
    for step in steps:
        now += step
        seen.append(bucket.take(now))
    assert seen == expected


def test_limiter_keeps_one_bucket_per_caller_and_says_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, window_seconds=60, clock=clock)  # one token per 30 s
    assert [limiter.check("key:a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.check("key:b").allowed  # another credential, its own bucket
    refused = limiter.check("key:a")
    assert (refused.allowed, refused.remaining, refused.retry_after_seconds, refused.reset_seconds) == (
        False,
        0,
        30,
        60,
    )
    assert refused.headers() == {
        "RateLimit-Policy": '"credential";q=2;w=60',
        "RateLimit": '"credential";r=0;t=60',
        "Retry-After": "30",
    }
    clock.now += 30
    allowed = limiter.check("key:a")
    assert allowed.allowed and "Retry-After" not in allowed.headers()


def test_idle_callers_beyond_the_cap_are_forgotten() -> None:
    limiter = RateLimiter(limit=1, window_seconds=60, clock=Clock(), max_callers=3)
    for caller in ("a", "b", "c", "d"):
        limiter.check(caller)
    assert len(limiter) == 3
    assert limiter.check("a").allowed  # its bucket was dropped, so it starts full


def test_a_dear_request_takes_its_cost_or_nothing() -> None:
    """An export build takes several tokens at once; refused, it takes none, and says when its cost is back."""
    limiter = RateLimiter(limit=10, window_seconds=10, clock=Clock())  # one token a second
    assert limiter.check("key:a", cost=6).remaining == 4
    refused = limiter.check("key:a", cost=6)
    assert (refused.allowed, refused.remaining, refused.retry_after_seconds) == (False, 4, 2)
    assert limiter.check("key:a").remaining == 3  # the refused cost took nothing
    assert limiter.check("key:b", cost=50).allowed  # above the limit: the whole bucket, never impossible
    assert not limiter.check("key:b").allowed


def test_peek_looks_without_taking() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 10, clock=clock)
    assert limiter.peek("a") is None and len(limiter) == 0  # an unknown caller has a full bucket, none is made
    assert limiter.check("a").allowed and limiter.peek("a") is None and limiter.check("a").allowed
    for _ in range(3):  # looking never takes: the same refusal each time
        refusal = limiter.peek("a")
        assert refusal is not None and not refusal.allowed and refusal.retry_after_seconds == 5
    clock.now += 5  # one token back (0.2 per second)
    assert limiter.peek("a") is None and limiter.check("a").allowed and limiter.peek("a") is not None


@pytest.mark.parametrize(
    ("forwarded_for", "hops", "address"),
    [
        ("203.0.113.7:51234", 0, "203.0.113.7"),  # as the Functions front end appends it: with the port
        ("198.51.100.1, 203.0.113.7:51234", 0, "203.0.113.7"),  # the caller's own entry is never read
        ("198.51.100.1,203.0.113.7:443,10.0.2.4:1234", 1, "203.0.113.7"),  # behind the gateway: one left of it
        ("forged, 203.0.113.7, 10.0.2.4", 1, "203.0.113.7"),
        ("10.0.2.4:1234", 1, "10.0.2.4"),  # fewer entries than hops: the nearest known peer
        ("[2001:db8::1]:443", 0, "2001:db8::1"),
        ("2001:db8::1", 0, "2001:db8::1"),  # a bare IPv6 keeps its colons
        ("::1", 0, "::1"),
        ("", 0, "unknown"),
        (None, 0, "unknown"),
        (" , ", 0, "unknown"),
        ("x" * 500, 0, "x" * 64),  # bounded: a bucket key is never the caller's essay
    ],
)
def test_client_address_trusts_only_the_entries_the_proxies_appended(
    forwarded_for: str | None, hops: int, address: str
) -> None:
    assert client_address(forwarded_for, hops) == address
