"""A bounded concurrent HTTP client (aiohttp): N workers, each sends requests until a deadline or a count."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from bench.stats import LatencySummary, summarize

PathFactory = Callable[[random.Random], str]
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Cell:
    """The raw outcome of one cell: latencies of the expected answers, and every unexpected one."""

    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> LatencySummary:
        return summarize(self.latencies_s, sum(self.errors.values()), self.seconds)


async def _worker(
    session: aiohttp.ClientSession,
    base_url: str,
    make_path: PathFactory,
    expect_status: int | Callable[[str], int],
    rng: random.Random,
    deadline: float,
    budget: list[int],
    cell: Cell,
) -> None:
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        path = make_path(rng)
        expected = expect_status(path) if callable(expect_status) else expect_status
        started = time.perf_counter()
        try:
            async with session.get(base_url + path, allow_redirects=False) as resp:
                await resp.read()
                elapsed = time.perf_counter() - started
                if resp.status == expected:
                    cell.latencies_s.append(elapsed)
                else:
                    cell.errors[f"HTTP {resp.status} on {path.split('?')[0].rsplit('/', 2)[0]}"] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            cell.errors[type(exc).__name__] += 1


async def run_cell(
    base_url: str,
    headers: dict[str, str],
    make_path: PathFactory,
    concurrency: int,
    *,
    expect_status: int | Callable[[str], int] = 200,
    duration_s: float = 5.0,
    max_requests: int = 100_000,
    seed: int = 0,
) -> Cell:
    """Run `concurrency` workers over one keep-alive connection each until `duration_s` or `max_requests`."""
    if concurrency < 1 or duration_s <= 0 or max_requests < 1:
        raise ValueError("concurrency, duration_s and max_requests must be positive")
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    cell = Cell()
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        budget = [max_requests]
        started = time.perf_counter()
        deadline = started + duration_s
        await asyncio.gather(
            *(
                _worker(session, base_url, make_path, expect_status, rng, deadline, budget, cell)
                for rng in (random.Random(seed * 1000 + i) for i in range(concurrency))
            )
        )
        cell.seconds = time.perf_counter() - started
    return cell
