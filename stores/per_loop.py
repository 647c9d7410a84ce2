"""The aio clients' common parts: one client per event loop (an aio client is bound to the loop it first ran
on), and their transport."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from azure.core.pipeline.transport import AioHttpTransport

C = TypeVar("C")
log = logging.getLogger(__name__)


class PerLoop(Generic[C]):
    """Built on first use on the running loop, and again when the loop changes (the Functions worker runs one
    loop; tests run one per test): the old client is left to the GC."""

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


def aio_transport(connection_verify: bool, policy_options: dict[str, Any]) -> AioHttpTransport:
    """azure-core's aiohttp transport without its environment lookups: with `use_env_settings` (its default) the
    aiohttp session looks up a .netrc and the proxy variables on a thread-pool hop for every request. The app
    reaches its stores directly (no proxy in Flex Consumption; none needed by the emulators)."""
    from azure.core.pipeline.transport import AioHttpTransport

    return AioHttpTransport(
        use_env_settings=False,
        connection_verify=connection_verify,
        connection_timeout=policy_options["connection_timeout"],
        read_timeout=policy_options["read_timeout"],
    )
