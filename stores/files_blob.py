"""Blob Storage file store: CSV exports as blobs, downloaded through short-lived read-only SAS links."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    LinearRetry,
    UserDelegationKey,
    generate_blob_sas,
)

from core.settings import Settings
from stores.azure_faults import azure_faults_as_unavailable
from stores.call_policy import Caller, CallPolicy, call_policy
from stores.file_names import attachment_disposition, check_name
from stores.files_embedded import MAX_TTL_SECONDS

log = logging.getLogger(__name__)

# SAS links start a little in the past so a client whose clock runs behind the service is not refused.
CLOCK_SKEW = timedelta(minutes=5)
MIN_TTL_SECONDS = 30
# A user-delegation key is asked for this long and renewed when less than the longest link remains.
DELEGATION_KEY_LIFETIME = timedelta(hours=2)
DELEGATION_KEY_MARGIN = timedelta(seconds=MAX_TTL_SECONDS) + CLOCK_SKEW
STORE_NAME = "files"


def empty_head_on_unsatisfiable_range(exc: HttpResponseError) -> bytes:
    """A range from byte 0 is unsatisfiable (416) only on an empty blob: its head is empty. Else: raise."""
    if exc.status_code == 416:
        return b""
    raise exc


def content_settings(name: str, content_type: str, md5: bytes) -> ContentSettings:
    """A put's blob headers: its type, a download named after the file, and its Content-MD5 (the next put of
    the same bytes compares with it and is skipped)."""
    return ContentSettings(
        content_type=content_type,
        content_disposition=attachment_disposition(name.rsplit("/", 1)[-1]),
        content_md5=bytearray(md5),
    )


class BlobFileStore:
    """FileStore over one Blob container. SAS with the account key only when it is configured (Azurite)."""

    def __init__(self, service: BlobServiceClient, container: str, *, account_key: str | None) -> None:
        self.service = service
        self.container = service.get_container_client(container)
        self.container_name = container
        if not service.account_name:
            raise ValueError(f"cannot tell the storage account name from {service.url}")
        self.account_name: str = service.account_name
        self._account_key = account_key
        self._delegation_key: UserDelegationKey | None = None
        self._delegation_key_expiry = datetime.min.replace(tzinfo=UTC)
        self._delegation_lock = threading.Lock()

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        with azure_faults_as_unavailable(STORE_NAME):
            return self._put(name, data, content_type)

    def _put(self, name: str, data: bytes, content_type: str) -> bool:
        blob = self.container.get_blob_client(check_name(name))
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        try:
            existing = blob.get_blob_properties().content_settings.content_md5
        except ResourceNotFoundError:
            existing = None
        if existing is not None and bytes(existing) == md5:
            return False
        blob.upload_blob(data, overwrite=True, content_settings=content_settings(name, content_type, md5))
        return True

    def exists(self, name: str) -> bool:
        with azure_faults_as_unavailable(STORE_NAME):
            return bool(self.container.get_blob_client(check_name(name)).exists())

    def read(self, name: str) -> bytes | None:
        try:
            with azure_faults_as_unavailable(STORE_NAME):
                return self.container.get_blob_client(check_name(name)).download_blob().readall()
        except ResourceNotFoundError:
            return None

    def read_head(self, name: str, size: int) -> bytes | None:
        """One ranged GET (the SDK asks bytes 0..size-1; a shorter or empty blob answers what it holds)."""
        blob = self.container.get_blob_client(check_name(name))
        if size < 1:
            raise ValueError("a head read needs size >= 1")
        try:
            with azure_faults_as_unavailable(STORE_NAME):
                return blob.download_blob(offset=0, length=size).readall()
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            return empty_head_on_unsatisfiable_range(exc)

    def _user_delegation_key(self, now: datetime) -> UserDelegationKey:
        with self._delegation_lock:
            if self._delegation_key is None or self._delegation_key_expiry - now < DELEGATION_KEY_MARGIN:
                expiry = now + DELEGATION_KEY_LIFETIME
                self._delegation_key = self.service.get_user_delegation_key(
                    key_start_time=now - CLOCK_SKEW, key_expiry_time=expiry
                )
                self._delegation_key_expiry = expiry
            return self._delegation_key

    def needs_delegation_key(self, now: datetime) -> bool:
        """Whether a link signed now would ask for a user-delegation key (none kept, or one about to expire)."""
        if self._account_key:
            return False
        return self._delegation_key is None or self._delegation_key_expiry - now < DELEGATION_KEY_MARGIN

    def keep_delegation_key(self, key: UserDelegationKey, expiry: datetime) -> None:
        """A user-delegation key valid until `expiry`, asked for elsewhere (the aio client): links sign with it."""
        with self._delegation_lock:
            self._delegation_key, self._delegation_key_expiry = key, expiry

    def signed_url(self, name: str, ttl_seconds: int, download_name: str, now: float | None = None) -> str:
        """Read-only SAS link to this one blob, valid at most 15 minutes, served as an attachment."""
        blob = self.container.get_blob_client(check_name(name))
        issued = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC).replace(microsecond=0)
        expiry = issued + timedelta(seconds=max(MIN_TTL_SECONDS, min(int(ttl_seconds), MAX_TTL_SECONDS)))
        signing: dict[str, Any]
        if self._account_key:
            signing = {"account_key": self._account_key}
        else:
            with azure_faults_as_unavailable(STORE_NAME):  # the only network call of a link: asking for a key
                signing = {"user_delegation_key": self._user_delegation_key(issued)}
        sas = generate_blob_sas(
            account_name=self.account_name,
            container_name=self.container_name,
            blob_name=name,
            permission=BlobSasPermissions(read=True),
            start=issued - CLOCK_SKEW,
            expiry=expiry,
            protocol="https" if blob.url.startswith("https://") else None,
            content_disposition=attachment_disposition(download_name),
            **signing,
        )
        return f"{blob.url}?{sas}"

    def ping(self) -> None:
        with azure_faults_as_unavailable(STORE_NAME):
            self.container.get_container_properties()


def blob_client_options(policy: CallPolicy) -> dict[str, Any]:
    """Retries of 408/5xx and broken connections, evenly spaced over the policy's wait, and per-attempt timeouts.

    (The SDK's default, exponential from 15 s, would hold an HTTP request for a minute.)
    """
    backoff = max(1, policy.throttle_wait_seconds // max(1, policy.retries))
    return {
        "retry_policy": LinearRetry(backoff=backoff, retry_total=policy.retries, random_jitter_range=0),
        "connection_timeout": policy.timeout_seconds,
        "read_timeout": policy.timeout_seconds,
    }


def blob_service(settings: Settings, caller: Caller = Caller.batch) -> BlobServiceClient:
    """Client from BLOB_CONNECTION_STRING (Azurite, account key) or BLOB_ACCOUNT_URL + managed identity."""
    options = blob_client_options(call_policy(settings, caller))
    if settings.BLOB_CONNECTION_STRING:
        return BlobServiceClient.from_connection_string(settings.BLOB_CONNECTION_STRING, **options)
    if settings.BLOB_ACCOUNT_URL:
        from azure.identity import DefaultAzureCredential  # imported only where it is used

        return BlobServiceClient(settings.BLOB_ACCOUNT_URL, credential=DefaultAzureCredential(), **options)
    raise ValueError("neither BLOB_CONNECTION_STRING nor BLOB_ACCOUNT_URL is set")


def account_key_of(service: BlobServiceClient) -> str | None:
    """The shared key the client was built with (connection string), None with a token credential."""
    key = getattr(service.credential, "account_key", None)
    return key if isinstance(key, str) and key else None


def ensure_container(service: BlobServiceClient, container: str) -> None:
    """Create the container when absent; in Azure bicep creates it and the identity may not be allowed to."""
    try:
        service.create_container(container)
    except ResourceExistsError:
        pass
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        log.warning("no permission to create blob container %s; using it as provisioned", container)


def blob_file_store(settings: Settings, caller: Caller = Caller.batch) -> BlobFileStore:
    service = blob_service(settings, caller)
    ensure_container(service, settings.BLOB_CONTAINER)
    return BlobFileStore(service, settings.BLOB_CONTAINER, account_key=account_key_of(service))
