"""get_stores() picks the Azure adapters from the settings, against the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stores.documents_cosmos import CosmosDocumentStore
from stores.factory import get_stores, reset_stores
from stores.files_blob import BlobFileStore
from tests.integration.emulators import Azurite, CosmosServer
from tests.support.store_contracts import make_doc

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]


@pytest.fixture
def azure_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, azurite: Azurite, cosmos_server: CosmosServer
) -> Iterator[None]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COSMOS_ENDPOINT", cosmos_server.endpoint)
    monkeypatch.setenv("COSMOS_KEY", cosmos_server.key)
    monkeypatch.setenv("COSMOS_VERIFY_TLS", "false")
    monkeypatch.setenv("COSMOS_DATABASE", "factory")
    monkeypatch.setenv("BLOB_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("BLOB_CONTAINER", "factory-exports")
    monkeypatch.delenv("BLOB_ACCOUNT_URL", raising=False)
    reset_stores()
    yield
    reset_stores()


def test_azure_settings_select_the_azure_adapters_and_create_their_containers(azure_env: None) -> None:
    stores = get_stores()
    assert isinstance(stores.documents, CosmosDocumentStore)
    assert isinstance(stores.files, BlobFileStore)
    stores.documents.ping()
    stores.files.ping()
    doc = make_doc("44", "2024-02-29")
    stores.documents.upsert(doc)
    assert stores.documents.get("44", doc["id"]) == doc
    assert stores.files.put("44/2024/x.csv", b"a;b\r\n", "text/csv; charset=utf-8")
