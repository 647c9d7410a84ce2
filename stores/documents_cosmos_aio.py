"""Cosmos DB reads on the event loop (azure.cosmos.aio): the API's DocumentReads.

`CosmosReads` answers the reads port as coroutines, with the sync store's queries, stripping, retry/timeout
options and error mapping. An aio client is bound to the loop it first ran on, and the real Python worker runs
async functions on its own loop: the client is built lazily on the running loop, once per worker (again only if
the loop changes, as it does between tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from azure.cosmos.aio import ContainerProxy as AsyncContainerProxy
from azure.cosmos.aio import CosmosClient as AsyncCosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError

from core.settings import Settings
from domain.ports import RenderedDocument, StoredItems
from stores.call_policy import Caller, call_policy
from stores.documents_cosmos import (
    _RANGE_HASHES_QUERY,
    _RANGE_QUERY,
    BODY_FIELD,
    _range_items_query,
    _range_parameters,
    _retry_options,
    _strip,
    _unavailable,
    document_of,
    stored_items_of,
)
from stores.per_loop import PerLoop, aio_transport
from stores.ports import Document
from stores.reads_local import rendered_document


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
    options = _retry_options(call_policy(settings, caller))
    client = AsyncCosmosClient(
        settings.COSMOS_ENDPOINT,
        credential=credential,
        connection_verify=settings.COSMOS_VERIFY_TLS,
        transport=aio_transport(settings.COSMOS_VERIFY_TLS, options),
        **options,
    )
    return client, closable


class AsyncCosmosReads:
    """The reads as coroutines over one aio container (bound to the loop it first runs on)."""

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

    async def opened(self) -> AsyncContainerProxy:
        # The account read that `async with client` does; retried by the next call when it failed.
        if not self._opened:
            async with self._open_lock:
                if not self._opened:
                    with _unavailable():
                        await self.client.__aenter__()
                    self._opened = True
        return self.container

    async def close(self) -> None:
        await self.client.close()
        if self._credential is not None:
            await self._credential.close()


class CosmosReads:
    """DocumentReads over Cosmos DB: the aio client of the running loop, built there on first use."""

    def __init__(self, open_reads: Callable[[], AsyncCosmosReads]) -> None:
        self._reads = PerLoop(open_reads, "Cosmos")

    @classmethod
    def from_settings(cls, settings: Settings, caller: Caller = Caller.reads) -> CosmosReads:
        return cls(lambda: AsyncCosmosReads.from_settings(settings, caller))

    async def _container(self) -> AsyncContainerProxy:
        return await self._reads.get().opened()

    async def aclose(self) -> None:
        """Close the async client (on its own loop), if one was built."""
        reads = self._reads.take()
        if reads is not None:
            await reads.close()

    async def _item(self, region_code: str, doc_id: str) -> dict[str, Any] | None:
        container = await self._container()
        try:
            with _unavailable():
                item: dict[str, Any] = await container.read_item(item=doc_id, partition_key=region_code)
        except CosmosResourceNotFoundError:
            return None
        return item

    async def get(self, region_code: str, doc_id: str) -> Document | None:
        item = await self._item(region_code, doc_id)
        return None if item is None else document_of(item)

    async def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        """The document's JSON as written (no parse, no re-encoding); an item of the earlier layout re-encoded."""
        item = await self._item(region_code, doc_id)
        if item is None:
            return None
        body = item.get(BODY_FIELD)
        if not isinstance(body, str):
            return rendered_document(_strip(item))
        content_hash = item.get("content_hash")
        return RenderedDocument(
            body.encode(), None, content_hash if isinstance(content_hash, str) else None, item.get("final") is True
        )

    async def _range(self, query: str, region_code: str, doc_type: str, first: str, last: str) -> list[Any]:
        """The rows of a single-partition range query (it runs while its pages are iterated)."""
        container = await self._container()
        with _unavailable():
            parameters = _range_parameters(region_code, doc_type, first, last)
            items = container.query_items(query, parameters=parameters, partition_key=region_code)
            return [item async for item in items]

    async def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        return [
            document_of(item) for item in await self._range(_RANGE_QUERY, region_code, doc_type, first_key, last_key)
        ]

    async def range_hashes(
        self, region_code: str, doc_type: str, first_key: str, last_key: str
    ) -> list[tuple[str, str]]:
        rows = await self._range(_RANGE_HASHES_QUERY, region_code, doc_type, first_key, last_key)
        return [(item["id"], item.get("content_hash") or "") for item in rows]

    async def range_items(
        self, region_code: str, doc_type: str, first_key: str, last_key: str, field: str
    ) -> dict[str, StoredItems]:
        rows = await self._range(_range_items_query(field), region_code, doc_type, first_key, last_key)
        found = {item["id"]: stored_items_of(item) for item in rows}
        return {doc_id: stored for doc_id, stored in found.items() if stored is not None}

    async def ping(self) -> None:
        container = await self._container()
        with _unavailable():
            await container.read()
