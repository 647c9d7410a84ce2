"""Composition of the stores: backends chosen by the settings, clients built once per worker and caller.

Two sets per worker: the materialization's (patient retries) and the API's reads (short attempts, then
StoreUnavailable, which the API answers 503 + Retry-After). They share nothing but the settings. Each set has
the sync ports (the materialization's writes, the sync routes' reads) and the async reads ports the async HTTP
triggers await: the aio Cosmos/Blob clients (built on first use on the running loop), or the local stores' reads,
which answer at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import Settings, get_settings
from domain.ports import DocumentReads, FileReads
from stores.call_policy import Caller, call_policy
from stores.ports import DocumentStore, FileStore

if TYPE_CHECKING:
    from stores.gold import GoldReader

DOCUMENTS_FILE = "documents.sqlite"
FILES_DIR = "files"


@dataclass(frozen=True)
class Stores:
    gold: GoldReader
    documents: DocumentStore
    files: FileStore
    document_reads: DocumentReads
    file_reads: FileReads


def documents_path(settings: Settings) -> Path:
    return settings.DATA_DIR / DOCUMENTS_FILE


def files_root(settings: Settings) -> Path:
    return settings.DATA_DIR / FILES_DIR


def build_documents(settings: Settings, caller: Caller = Caller.batch) -> DocumentStore:
    if settings.documents_backend == "cosmos":
        from stores.documents_cosmos import CosmosDocumentStore, cosmos_container

        return CosmosDocumentStore(cosmos_container(settings, caller=caller))
    from stores.documents_embedded import EmbeddedDocumentStore

    if caller is Caller.reads:  # a lock held elsewhere: StoreUnavailable within the read's timeout, not 10 s on
        return EmbeddedDocumentStore(
            documents_path(settings),
            call_policy(settings, caller).timeout_seconds,
            mmap_bytes=settings.EMBEDDED_DOCUMENTS_MMAP_MIB * 2**20,
        )
    return EmbeddedDocumentStore(documents_path(settings))


def build_files(settings: Settings, caller: Caller = Caller.batch) -> FileStore:
    if settings.files_backend == "blob":
        from stores.files_blob import blob_file_store

        return blob_file_store(settings, caller)
    from stores.files_embedded import EmbeddedFileStore, load_signing_key

    key = load_signing_key(settings.FILES_SIGNING_KEY, settings.DATA_DIR)
    return EmbeddedFileStore(files_root(settings), key, settings.PUBLIC_BASE_URL)


def build_stores(settings: Settings, caller: Caller = Caller.batch) -> Stores:
    """New clients for these settings (the Azure SDK imports happen only for the Azure backends)."""
    from stores.gold import gold_reader  # lazy: keeps this module importable on its own

    documents, files = build_documents(settings, caller), build_files(settings, caller)
    return Stores(gold_reader(settings), documents, files, *build_reads(settings, documents, files, caller))


def build_reads(
    settings: Settings, documents: DocumentStore, files: FileStore, caller: Caller = Caller.reads
) -> tuple[DocumentReads, FileReads]:
    """The async reads ports beside these sync stores: the aio clients for the Azure backends (no network until
    their first call), else the local stores' own reads."""
    from stores.reads_local import LocalDocumentReads, LocalFileReads

    document_reads: DocumentReads
    file_reads: FileReads
    if settings.documents_backend == "cosmos":
        from stores.documents_cosmos_aio import CosmosReads
        from stores.reads_cache import CachedDocumentReads

        document_reads = CosmosReads.from_settings(settings, caller)
        if settings.DOCUMENT_CACHE_MIB:  # the instance cache in front of Cosmos DB
            document_reads = CachedDocumentReads(
                document_reads, settings.DOCUMENT_CACHE_MIB * 2**20, settings.DOCUMENT_CACHE_STALE_SECONDS
            )
    else:
        document_reads = LocalDocumentReads(documents)
    if settings.files_backend == "blob":
        from stores.files_blob import BlobFileStore
        from stores.files_blob_aio import blob_reads

        assert isinstance(files, BlobFileStore)
        file_reads = blob_reads(settings, files, caller)
    else:
        file_reads = LocalFileReads(files)
    return document_reads, file_reads


_stores: dict[Caller, Stores] = {}
_lock = threading.Lock()


def get_stores(caller: Caller = Caller.batch) -> Stores:
    """The stores of this worker for `caller`, built once from get_settings() (clients are reused)."""
    stores = _stores.get(caller)
    if stores is None:
        with _lock:
            stores = _stores.get(caller)
            if stores is None:
                stores = _stores[caller] = build_stores(get_settings(), caller)
    return stores


def get_read_stores() -> Stores:
    """The API's stores: short store calls that end in StoreUnavailable rather than a hang."""
    return get_stores(Caller.reads)


def reset_stores() -> None:
    """Forget the built stores and the cached settings (tests that change the environment)."""
    with _lock:
        _stores.clear()
    get_settings.cache_clear()
