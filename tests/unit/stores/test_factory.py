from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stores.call_policy import Caller
from stores.documents_embedded import EmbeddedDocumentStore
from stores.factory import get_read_stores, get_stores, reset_stores
from stores.files_embedded import EmbeddedFileStore
from stores.gold import GoldReader

AZURE_SETTINGS = ("COSMOS_ENDPOINT", "COSMOS_KEY", "BLOB_CONNECTION_STRING", "BLOB_ACCOUNT_URL", "FILES_SIGNING_KEY")


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in AZURE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    reset_stores()
    yield tmp_path
    reset_stores()


def test_defaults_are_the_embedded_stores_under_data_dir(embedded_env: Path) -> None:
    stores = get_stores()
    assert isinstance(stores.gold, GoldReader)
    assert isinstance(stores.documents, EmbeddedDocumentStore)
    assert stores.documents.path == embedded_env / "documents.sqlite"
    assert isinstance(stores.files, EmbeddedFileStore)
    assert stores.files.root == (embedded_env / "files").resolve()
    assert (embedded_env / "files-signing.key").is_file()


def test_stores_are_built_once_per_worker_until_reset(embedded_env: Path) -> None:
    first = get_stores()
    assert get_stores() is first
    reset_stores()
    assert get_stores() is not first


def test_configured_signing_key_is_used(embedded_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILES_SIGNING_KEY", "from-settings")
    reset_stores()
    url = get_stores().files.signed_url("a/b.csv", 60, "b.csv")
    same_key = EmbeddedFileStore(embedded_env / "files", b"from-settings", "http://127.0.0.1:7071")
    assert url.split("sig=")[1] == same_key.signed_url("a/b.csv", 60, "b.csv").split("sig=")[1]
    assert not (embedded_env / "files-signing.key").exists()


def test_reads_and_materialization_get_their_own_stores_each_built_once(embedded_env: Path) -> None:
    reads, batch = get_read_stores(), get_stores()
    assert reads is not batch and reads.documents is not batch.documents
    assert get_read_stores() is reads and get_stores(Caller.batch) is batch


@pytest.mark.parametrize(("caller", "seconds"), [(Caller.reads, 0.7), (Caller.batch, 10.0)])
def test_embedded_documents_wait_on_a_lock_as_long_as_the_caller_allows(
    embedded_env: Path, monkeypatch: pytest.MonkeyPatch, caller: Caller, seconds: float
) -> None:
    # The API's reads: the read policy's timeout, then StoreUnavailable (503); the materialization: 10 s.
    monkeypatch.setenv("STORE_READ_TIMEOUT_SECONDS", "0.7")
    reset_stores()
    documents = get_stores(caller).documents
    assert isinstance(documents, EmbeddedDocumentStore)
    assert documents.busy_timeout_seconds == seconds


# (caller, EMBEDDED_DOCUMENTS_MMAP_MIB or None for the default, bytes mapped): only the API's reads map the file.
MMAP_CASES = [(Caller.reads, None, 256 * 2**20), (Caller.reads, "0", 0), (Caller.reads, "8", 8 * 2**20)]
MMAP_CASES += [(Caller.batch, None, 0), (Caller.batch, "8", 0)]


@pytest.mark.parametrize(("caller", "mib", "mapped"), MMAP_CASES)
def test_embedded_documents_map_the_file_for_the_api_reads_only(
    embedded_env: Path, monkeypatch: pytest.MonkeyPatch, caller: Caller, mib: str | None, mapped: int
) -> None:
    if mib is not None:
        monkeypatch.setenv("EMBEDDED_DOCUMENTS_MMAP_MIB", mib)
    reset_stores()
    documents = get_stores(caller).documents
    assert isinstance(documents, EmbeddedDocumentStore)
    assert documents.mmap_bytes == mapped
    assert documents._connection().execute("PRAGMA mmap_size").fetchone()[0] == mapped
