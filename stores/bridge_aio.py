"""Sync code that awaits: run a plain function on the event loop, its store calls served by async clients.

The read model (api/reader.py) is synchronous and calls its store through the DocumentStore port. With an
async store client (azure.cosmos.aio, azure.storage.blob.aio) the I/O belongs on the event loop, not on a
worker thread. `run_awaiting(fn, ...)` runs `fn` in a child greenlet: when a store method inside it calls
`await_(coroutine)`, the child switches back to the parent coroutine, which awaits it on the loop (other
requests run meanwhile) and switches back in with the result or the exception. So the read strategies stay
one piece of code for both paths, and the async path adds no thread and no copy of the strategies.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import greenlet

T = TypeVar("T")
C = TypeVar("C")
log = logging.getLogger(__name__)


class _AwaitingGreenlet(greenlet.greenlet):
    """The child that runs the sync function; its type says that `await_` may switch out of it."""


def in_awaiting() -> bool:
    """Whether the caller runs inside `run_awaiting` (so `await_` may suspend it)."""
    return isinstance(greenlet.getcurrent(), _AwaitingGreenlet)


def await_(awaitable: Awaitable[T]) -> T:
    """Suspend the sync code run by `run_awaiting` until `awaitable` is done on the loop; its result."""
    current = greenlet.getcurrent()
    if not isinstance(current, _AwaitingGreenlet):
        raise RuntimeError("await_ outside run_awaiting: the caller has no event loop to wait on")
    parent = current.parent
    assert parent is not None
    result: T = parent.switch(awaitable)
    return result


async def run_awaiting(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run sync `fn(*args, **kwargs)` on this loop, awaiting each awaitable it hands to `await_`."""
    child = _AwaitingGreenlet(fn)
    # The caller's context variables (request id of the log lines...), as a thread of to_thread would see them.
    child.gr_context = contextvars.copy_context()
    sent = child.switch(*args, **kwargs)
    while not child.dead:
        try:
            value = await sent
        except BaseException as exc:  # the store call failed: raised where the sync code awaited it
            sent = child.throw(exc)
        else:
            sent = child.switch(value)
    result: T = sent
    return result


class PerLoop(Generic[C]):
    """One async client per event loop: an aio client is bound to the loop it was built on, so it is built on
    first use on the running loop, and again when the loop changes (the old one is left to the GC)."""

    def __init__(self, build: Callable[[], C], what: str) -> None:
        self._build = build
        self._what = what
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: C | None = None

    def get(self) -> C:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            if self._client is not None:
                log.info("the event loop changed: a new async %s client for this one", self._what)
            self._client, self._loop = self._build(), loop
        return self._client

    def take(self) -> C | None:
        """The client built so far (to close it on its loop), forgotten here."""
        client, self._client, self._loop = self._client, None, None
        return client
