"""Composition of the stores: one Stores per worker process, backends chosen by the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stores.ports import DocumentStore, FileStore
from stores.settings import Settings, get_settings

if TYPE_CHECKING:
    from stores.gold import GoldReader

DOCUMENTS_FILE = "documents.sqlite"
FILES_DIR = "files"


@dataclass(frozen=True)
class Stores:
    gold: GoldReader
    documents: DocumentStore
    files: FileStore


def documents_path(settings: Settings) -> Path:
    return settings.DATA_DIR / DOCUMENTS_FILE


def files_root(settings: Settings) -> Path:
    return settings.DATA_DIR / FILES_DIR


def build_documents(settings: Settings) -> DocumentStore:
    if settings.documents_backend == "cosmos":
        from stores.documents_cosmos import CosmosDocumentStore, cosmos_container

        return CosmosDocumentStore(cosmos_container(settings))
    from stores.documents_embedded import EmbeddedDocumentStore

    return EmbeddedDocumentStore(documents_path(settings))


def build_files(settings: Settings) -> FileStore:
    if settings.files_backend == "blob":
        from stores.files_blob import blob_file_store

        return blob_file_store(settings)
    from stores.files_embedded import EmbeddedFileStore, load_signing_key

    key = load_signing_key(settings.FILES_SIGNING_KEY, settings.DATA_DIR)
    return EmbeddedFileStore(files_root(settings), key, settings.PUBLIC_BASE_URL)


def build_stores(settings: Settings) -> Stores:
    """New clients for these settings (the Azure SDK imports happen only for the Azure backends)."""
    from stores.gold import gold_reader  # lazy: keeps this module importable on its own

    return Stores(gold=gold_reader(settings), documents=build_documents(settings), files=build_files(settings))


_stores: Stores | None = None
_lock = threading.Lock()


def get_stores() -> Stores:
    """The stores of this worker, built once from get_settings() (clients are reused across invocations)."""
    global _stores
    if _stores is None:
        with _lock:
            if _stores is None:
                _stores = build_stores(get_settings())
    return _stores


def reset_stores() -> None:
    """Forget the built stores and the cached settings (tests that change the environment)."""
    global _stores
    with _lock:
        _stores = None
    get_settings.cache_clear()
