"""Cosmos DB reads on the event loop (azure.cosmos.aio), for the API's async triggers.

`AsyncCosmosReads` answers the read methods of the DocumentStore port as coroutines, with the sync store's
queries, stripping, retry/timeout options and error mapping. `AwaitingCosmosStore` is the sync store the
read model calls: inside `run_awaiting` (stores.bridge_aio) its reads await the async client on the loop;
anywhere else (a sync trigger on a worker thread, the materialization) they are the sync client's.

An aio client is bound to the loop it first ran on, and the real Python worker runs async functions on its
own loop: the async client is built lazily on the running loop, once per worker (again only if the loop
changes, as it does between tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from azure.cosmos.aio import ContainerProxy as AsyncContainerProxy
from azure.cosmos.aio import CosmosClient as AsyncCosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError

from core.settings import Settings
from domain.ports import RenderedDocument
from stores.bridge_aio import PerLoop, await_, in_awaiting
from stores.call_policy import Caller, call_policy
from stores.documents_cosmos import (
    _HASHES_QUERY,
    _RANGE_HASHES_QUERY,
    _RANGE_QUERY,
    CosmosDocumentStore,
    _hashes_parameters,
    _range_parameters,
    _retry_options,
    _strip,
    _unavailable,
)
from stores.ports import Document


def async_cosmos_client(settings: Settings, caller: Caller = Caller.reads) -> tuple[AsyncCosmosClient, Any]:
    """The aio client for settings.COSMOS_ENDPOINT (key, else managed identity) and its credential to close.

    Same options as the sync client of `caller`; the identity is azure.identity.aio's (the sync one would
    block the loop while it fetches a token)."""
    if not settings.COSMOS_ENDPOINT:
        raise ValueError("COSMOS_ENDPOINT is not set")
    credential: Any
    closable: Any = None
    if settings.COSMOS_KEY:
        credential = settings.COSMOS_KEY
    else:
        from azure.identity.aio import DefaultAzureCredential  # imported only where it is used

        credential = closable = DefaultAzureCredential()
    client = AsyncCosmosClient(
        settings.COSMOS_ENDPOINT,
        credential=credential,
        connection_verify=settings.COSMOS_VERIFY_TLS,
        **_retry_options(call_policy(settings, caller)),
    )
    return client, closable


class AsyncCosmosReads:
    """The DocumentStore port's reads as coroutines, over an aio container partitioned by /region_code."""

    def __init__(self, client: AsyncCosmosClient, container: AsyncContainerProxy, credential: Any = None) -> None:
        self.client = client
        self.container = container
        self._credential = credential
        self._opened = False
        self._open_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, caller: Caller = Caller.reads) -> AsyncCosmosReads:
        """No network here: the database and container are the sync path's (created or provisioned)."""
        client, credential = async_cosmos_client(settings, caller)
        container = client.get_database_client(settings.COSMOS_DATABASE).get_container_client(settings.COSMOS_CONTAINER)
        return cls(client, container, credential)

    async def _open(self) -> None:
        # The account read that `async with client` does; retried by the next call when it failed.
        if self._opened:
            return
        async with self._open_lock:
            if not self._opened:
                with _unavailable():
                    await self.client.__aenter__()
                self._opened = True

    async def get(self, region_code: str, doc_id: str) -> Document | None:
        await self._open()
        try:
            with _unavailable():
                item = await self.container.read_item(item=doc_id, partition_key=region_code)
        except CosmosResourceNotFoundError:
            return None
        return _strip(item)

    async def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        """As the sync store: the stripped item re-encoded (the SDK parses it), gzip left to the reader."""
        doc = await self.get(region_code, doc_id)
        if doc is None:
            return None
        content_hash = doc.get("content_hash")
        return RenderedDocument(
            orjson.dumps(doc), None, content_hash if isinstance(content_hash, str) else None, doc.get("final") is True
        )

    async def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        await self._open()
        with _unavailable():  # the query runs while its pages are iterated
            items = self.container.query_items(
                query=_RANGE_QUERY,
                parameters=_range_parameters(region_code, doc_type, first_key, last_key),
                partition_key=region_code,
            )
            return [_strip(item) async for item in items]

    async def range_hashes(
        self, region_code: str, doc_type: str, first_key: str, last_key: str
    ) -> list[tuple[str, str]]:
        await self._open()
        with _unavailable():
            items = self.container.query_items(
                query=_RANGE_HASHES_QUERY,
                parameters=_range_parameters(region_code, doc_type, first_key, last_key),
                partition_key=region_code,
            )
            return [(item["id"], item.get("content_hash") or "") async for item in items]

    async def content_hashes(self, region_code: str, doc_ids: list[str]) -> dict[str, str]:
        await self._open()
        found: dict[str, str] = {}
        with _unavailable():
            for parameters in _hashes_parameters(region_code, doc_ids):
                items = self.container.query_items(
                    query=_HASHES_QUERY, parameters=parameters, partition_key=region_code
                )
                async for item in items:
                    if isinstance(item.get("content_hash"), str):
                        found[item["id"]] = item["content_hash"]
        return found

    async def ping(self) -> None:
        await self._open()
        with _unavailable():
            await self.container.read()

    async def close(self) -> None:
        await self.client.close()
        if self._credential is not None:
            await self._credential.close()


class AwaitingCosmosStore(CosmosDocumentStore):
    """The sync Cosmos store whose reads await the aio client when run by `run_awaiting` (on the loop).

    Writes, and reads from a thread, are the sync client's: one code path for the read model either way.
    """

    awaits_on_loop = True  # read by the async triggers: run the read model with run_awaiting

    def __init__(self, container: Any, open_reads: Callable[[], AsyncCosmosReads]) -> None:
        """`open_reads` builds the aio client (called on the loop that will use it)."""
        super().__init__(container)
        self._reads = PerLoop(open_reads, "Cosmos")

    def async_reads(self) -> AsyncCosmosReads:
        """The aio client of the running loop, built on first use there."""
        return self._reads.get()

    async def aclose(self) -> None:
        """Close the async client (on its own loop), if one was built."""
        reads = self._reads.take()
        if reads is not None:
            await reads.close()

    def get(self, region_code: str, doc_id: str) -> Document | None:
        if in_awaiting():
            return await_(self.async_reads().get(region_code, doc_id))
        return super().get(region_code, doc_id)

    def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        if in_awaiting():
            return await_(self.async_reads().get_rendered(region_code, doc_id))
        return super().get_rendered(region_code, doc_id)

    def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        if in_awaiting():
            return await_(self.async_reads().query_range(region_code, doc_type, first_key, last_key))
        return super().query_range(region_code, doc_type, first_key, last_key)

    def range_hashes(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[tuple[str, str]]:
        if in_awaiting():
            return await_(self.async_reads().range_hashes(region_code, doc_type, first_key, last_key))
        return super().range_hashes(region_code, doc_type, first_key, last_key)

    def content_hashes(self, region_code: str, doc_ids: list[str]) -> dict[str, str]:
        if in_awaiting():
            return await_(self.async_reads().content_hashes(region_code, doc_ids))
        return super().content_hashes(region_code, doc_ids)

    def ping(self) -> None:
        if in_awaiting():
            return await_(self.async_reads().ping())
        return super().ping()


def awaiting_cosmos_store(settings: Settings, container: Any, caller: Caller = Caller.reads) -> AwaitingCosmosStore:
    """The API's document store: the sync container given, the aio client of the same settings and caller."""
    return AwaitingCosmosStore(container, lambda: AsyncCosmosReads.from_settings(settings, caller))
