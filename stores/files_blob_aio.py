"""Blob Storage reads on the event loop (azure.storage.blob.aio), for the API's async triggers.

`AsyncBlobReads` does the network calls of the API's file reads as coroutines (exists, read, the
user-delegation key of a SAS link, ping; a put for the export route's rare re-render), with the sync
store's retry/timeout options and error mapping. `AwaitingBlobStore` is the sync store the routes call:
inside `run_awaiting` (stores.bridge_aio) those calls await the aio client on the loop; anywhere else
(a thread, the materialization) they are the sync client's. The aio client is built lazily on the running
loop (an aio client is bound to its loop), once per worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import UserDelegationKey
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient
from azure.storage.blob.aio import LinearRetry as AsyncLinearRetry

from core.settings import Settings
from stores.azure_faults import azure_faults_as_unavailable
from stores.bridge_aio import PerLoop, await_, in_awaiting
from stores.call_policy import Caller, CallPolicy, call_policy
from stores.file_names import check_name
from stores.files_blob import (
    CLOCK_SKEW,
    DELEGATION_KEY_LIFETIME,
    DELEGATION_KEY_MARGIN,
    STORE_NAME,
    BlobFileStore,
    account_key_of,
    blob_client_options,
    blob_service,
    content_settings,
    empty_head_on_unsatisfiable_range,
    ensure_container,
)


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

    async def exists(self, name: str) -> bool:
        with azure_faults_as_unavailable(STORE_NAME):
            return bool(await self.container.get_blob_client(check_name(name)).exists())

    async def read(self, name: str) -> bytes | None:
        try:
            with azure_faults_as_unavailable(STORE_NAME):
                download = await self.container.get_blob_client(check_name(name)).download_blob()
                data: bytes = await download.readall()
                return data
        except ResourceNotFoundError:
            return None

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

    async def put(self, name: str, data: bytes, content_type: str) -> bool:
        """As BlobFileStore.put: skipped when the blob's Content-MD5 is already that of `data`."""
        blob = self.container.get_blob_client(check_name(name))
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        with azure_faults_as_unavailable(STORE_NAME):
            try:
                existing = (await blob.get_blob_properties()).content_settings.content_md5
            except ResourceNotFoundError:
                existing = None
            if existing is not None and bytes(existing) == md5:
                return False
            await blob.upload_blob(data, overwrite=True, content_settings=content_settings(name, content_type, md5))
        return True

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


class AwaitingBlobStore(BlobFileStore):
    """The sync Blob store whose network calls await the aio client when run by `run_awaiting` (on the loop).

    The SAS itself is computed locally as before; only the user-delegation key (identity-based signing)
    is a network call, shared with the sync path's cached key."""

    awaits_on_loop = True

    def __init__(
        self, service: Any, container: str, *, account_key: str | None, open_reads: Callable[[], AsyncBlobReads]
    ) -> None:
        """`open_reads` builds the aio client (called on the loop that will use it)."""
        super().__init__(service, container, account_key=account_key)
        self._reads = PerLoop(open_reads, "Blob")

    def async_reads(self) -> AsyncBlobReads:
        return self._reads.get()

    async def aclose(self) -> None:
        reads = self._reads.take()
        if reads is not None:
            await reads.close()

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        if in_awaiting():
            return await_(self.async_reads().put(name, data, content_type))
        return super().put(name, data, content_type)

    def exists(self, name: str) -> bool:
        if in_awaiting():
            return await_(self.async_reads().exists(name))
        return super().exists(name)

    def read(self, name: str) -> bytes | None:
        if in_awaiting():
            return await_(self.async_reads().read(name))
        return super().read(name)

    def read_head(self, name: str, size: int) -> bytes | None:
        if in_awaiting():
            return await_(self.async_reads().read_head(name, size))
        return super().read_head(name, size)

    def _user_delegation_key(self, now: datetime) -> UserDelegationKey:
        if not in_awaiting():
            return super()._user_delegation_key(now)
        # On the loop the threading lock must not be held across the await (it would block the loop's other
        # requests): two concurrent renewals may both ask for a key, and either is valid.
        key = self._delegation_key
        if key is None or self._delegation_key_expiry - now < DELEGATION_KEY_MARGIN:
            expiry = now + DELEGATION_KEY_LIFETIME
            key = await_(self.async_reads().user_delegation_key(now - CLOCK_SKEW, expiry))
            with self._delegation_lock:
                self._delegation_key, self._delegation_key_expiry = key, expiry
        return key

    def ping(self) -> None:
        if in_awaiting():
            return await_(self.async_reads().ping())
        return super().ping()


def awaiting_blob_store(settings: Settings) -> AwaitingBlobStore:
    """The API's file store: the sync client (its container ensured, as blob_file_store) plus the aio one."""
    service = blob_service(settings, Caller.reads)
    ensure_container(service, settings.BLOB_CONTAINER)
    container = settings.BLOB_CONTAINER

    def open_reads() -> AsyncBlobReads:
        async_service, credential = async_blob_service(settings, Caller.reads)
        return AsyncBlobReads(async_service, container, credential)

    return AwaitingBlobStore(service, container, account_key=account_key_of(service), open_reads=open_reads)
