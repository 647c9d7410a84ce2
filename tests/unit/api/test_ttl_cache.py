"""TtlCache: a value reused for its window; concurrent misses compute it once; a failure is not kept."""

from __future__ import annotations

import threading

import pytest

from api.ttl_cache import TtlCache


def test_concurrent_misses_compute_once() -> None:
    cache: TtlCache[int] = TtlCache()
    started, release, calls = threading.Event(), threading.Event(), []

    def compute() -> int:
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", 60, compute))) for _ in range(8)]
    threads[0].start()
    assert started.wait(5)
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == [42] * 8 and len(calls) == 1


def test_a_failure_is_raised_and_not_kept() -> None:
    cache: TtlCache[int] = TtlCache()

    def fail() -> int:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError):
        cache.get("k", 60, fail)
    assert cache.get("k", 60, lambda: 7) == 7
