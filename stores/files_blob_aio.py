"""Blob Storage reads on the event loop (azure.storage.blob.aio): the API's FileReads.

`AsyncBlobReads` does the network calls of the API's file reads as coroutines (read_head, the user-delegation key
of a SAS link, ping), with the sync store's retry/timeout options and error mapping.
`BlobReads` is the reads port: the aio client of the running loop (built there on first use, once per worker),
and the sync store's local signing of links (its account key, or the user-delegation key it keeps, renewed here
through the aio client when it runs out).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import UserDelegationKey
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient
from azure.storage.blob.aio import LinearRetry as AsyncLinearRetry

from core.settings import Settings
from stores.azure_faults import azure_faults_as_unavailable
from stores.call_policy import Caller, CallPolicy, call_policy
from stores.file_names import check_name
from stores.files_blob import (
    CLOCK_SKEW,
    DELEGATION_KEY_LIFETIME,
    STORE_NAME,
    BlobFileStore,
    blob_client_options,
    empty_head_on_unsatisfiable_range,
)
from stores.per_loop import PerLoop, aio_transport


def async_blob_client_options(policy: CallPolicy) -> dict[str, Any]:
    """The sync client's options, with the aio twin of its retry policy (same spacing and count)."""
    options = blob_client_options(policy)
    sync_retry = options["retry_policy"]
    options["retry_policy"] = AsyncLinearRetry(
        backoff=sync_retry.backoff, retry_total=sync_retry.total_retries, random_jitter_range=0
    )
    return options


def async_blob_service(settings: Settings, caller: Caller = Caller.reads) -> tuple[AsyncBlobServiceClient, Any]:
    """The aio client from BLOB_CONNECTION_STRING or BLOB_ACCOUNT_URL + azure.identity.aio; its credential."""
    options = async_blob_client_options(call_policy(settings, caller))
    options["transport"] = aio_transport(True, options)
    if settings.BLOB_CONNECTION_STRING:
        return AsyncBlobServiceClient.from_connection_string(settings.BLOB_CONNECTION_STRING, **options), None
    if settings.BLOB_ACCOUNT_URL:
        from azure.identity.aio import DefaultAzureCredential  # imported only where it is used

        credential = DefaultAzureCredential()
        return AsyncBlobServiceClient(settings.BLOB_ACCOUNT_URL, credential=credential, **options), credential
    raise ValueError("neither BLOB_CONNECTION_STRING nor BLOB_ACCOUNT_URL is set")


class AsyncBlobReads:
    """The network calls of the API's file reads, as coroutines over one container."""

    def __init__(self, service: AsyncBlobServiceClient, container: str, credential: Any = None) -> None:
        self.service = service
        self.container = service.get_container_client(container)
        self._credential = credential

    async def read_head(self, name: str, size: int) -> bytes | None:
        """As BlobFileStore.read_head: one ranged GET."""
        blob = self.container.get_blob_client(check_name(name))
        if size < 1:
            raise ValueError("a head read needs size >= 1")
        try:
            with azure_faults_as_unavailable(STORE_NAME):
                download = await blob.download_blob(offset=0, length=size)
                data: bytes = await download.readall()
                return data
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            return empty_head_on_unsatisfiable_range(exc)

    async def user_delegation_key(self, start: datetime, expiry: datetime) -> UserDelegationKey:
        with azure_faults_as_unavailable(STORE_NAME):
            key: UserDelegationKey = await self.service.get_user_delegation_key(
                key_start_time=start, key_expiry_time=expiry
            )
            return key

    async def ping(self) -> None:
        with azure_faults_as_unavailable(STORE_NAME):
            await self.container.get_container_properties()

    async def close(self) -> None:
        await self.service.close()
        if self._credential is not None:
            await self._credential.close()


class BlobReads:
    """FileReads over Blob Storage: reads through the aio client of the running loop; links signed by `store`."""

    def __init__(self, store: BlobFileStore, open_reads: Callable[[], AsyncBlobReads]) -> None:
        self.store = store
        self._reads = PerLoop(open_reads, "Blob")

    def async_reads(self) -> AsyncBlobReads:
        return self._reads.get()

    async def aclose(self) -> None:
        reads = self._reads.take()
        if reads is not None:
            await reads.close()

    async def read_head(self, name: str, size: int) -> bytes | None:
        return await self.async_reads().read_head(name, size)

    async def signed_url(self, name: str, ttl_seconds: int, download_name: str) -> str:
        """The sync store's link; when it signs with a user-delegation key that is missing or about to expire, a
        new one is asked for here (the only network call of a link). Two concurrent renewals may both ask: either
        key is valid."""
        now = datetime.now(UTC).replace(microsecond=0)
        if self.store.needs_delegation_key(now):
            expiry = now + DELEGATION_KEY_LIFETIME
            key = await self.async_reads().user_delegation_key(now - CLOCK_SKEW, expiry)
            self.store.keep_delegation_key(key, expiry)
        return self.store.signed_url(name, ttl_seconds, download_name)

    async def ping(self) -> None:
        await self.async_reads().ping()


def blob_reads(settings: Settings, store: BlobFileStore, caller: Caller = Caller.reads) -> BlobReads:
    """The API's file reads over `store`'s container (its sync client ensured it exists)."""
    container = store.container_name

    def open_reads() -> AsyncBlobReads:
        async_service, credential = async_blob_service(settings, caller)
        return AsyncBlobReads(async_service, container, credential)

    return BlobReads(store, open_reads)
