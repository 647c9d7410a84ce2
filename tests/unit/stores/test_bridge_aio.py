"""run_awaiting / await_: sync code whose awaits are served on the caller's event loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from stores.bridge_aio import PerLoop, await_, in_awaiting, run_awaiting

REQUEST = contextvars.ContextVar("REQUEST", default="none")


async def later(value: int, delay: float = 0.01) -> int:
    await asyncio.sleep(delay)
    return value


async def failing() -> int:
    await asyncio.sleep(0)
    raise LookupError("the store said no")


def sync_sum(values: list[int]) -> int:
    """Plain code: each await_ suspends it while the loop runs the coroutine."""
    return sum(await_(later(v)) for v in values)


def test_sync_code_gets_each_awaited_result() -> None:
    assert asyncio.run(run_awaiting(sync_sum, [1, 2, 3])) == 6


def test_an_awaited_failure_is_raised_where_the_sync_code_awaited_it() -> None:
    def catches() -> str:
        try:
            await_(failing())
        except LookupError as exc:
            return f"caught {exc}"
        return "not raised"

    def lets_it_through() -> int:
        return await_(failing())

    assert asyncio.run(run_awaiting(catches)) == "caught the store said no"
    with pytest.raises(LookupError):
        asyncio.run(run_awaiting(lets_it_through))


def test_runs_interleave_on_one_loop_thread() -> None:
    """Two runs awaiting 50 ms each take ~50 ms, not 100: the loop serves both, and no thread is added."""
    threads: set[int] = set()

    def slow(value: int) -> int:
        threads.add(threading.get_ident())
        return await_(later(value, 0.05))

    async def both() -> tuple[list[int], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(run_awaiting(slow, 1), run_awaiting(slow, 2))
        return list(results), loop.time() - started

    results, elapsed = asyncio.run(both())
    assert results == [1, 2]
    assert threads == {threading.get_ident()}
    assert elapsed < 0.095


def test_context_variables_of_the_caller_are_seen() -> None:
    async def caller() -> str:
        REQUEST.set("req-1")
        return await run_awaiting(lambda: f"{REQUEST.get()} {await_(later(1))}")

    assert asyncio.run(caller()) == "req-1 1"


def test_await_outside_a_run_is_refused() -> None:
    coroutine = later(1)
    with pytest.raises(RuntimeError, match="outside run_awaiting"):
        await_(coroutine)
    coroutine.close()
    assert not in_awaiting()
    assert asyncio.run(run_awaiting(in_awaiting)) is True


def test_a_cancelled_request_ends_its_sync_code() -> None:
    reached: list[str] = []

    def waits() -> None:
        await_(asyncio.sleep(10))
        reached.append("after the sleep")

    async def cancel_it() -> None:
        task = asyncio.ensure_future(run_awaiting(waits))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    assert reached == []


def test_per_loop_builds_one_client_per_event_loop() -> None:
    built: list[object] = []

    def build() -> object:
        built.append(object())
        return built[-1]

    clients = PerLoop(build, "test")

    async def twice() -> tuple[object, object]:
        return clients.get(), clients.get()

    first = asyncio.run(twice())
    second = asyncio.run(twice())  # another loop: the first client is bound to a loop that is gone
    assert first[0] is first[1] and second[0] is second[1] and first[0] is not second[0]
    assert len(built) == 2
    assert clients.take() is second[0] and clients.take() is None
