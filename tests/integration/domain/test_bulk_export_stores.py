"""Bulk exports on the real adapters: embedded SQLite documents with the embedded folder or Blob Storage on
Azurite (account-key SAS), and Cosmos (cosmosdb-server) with Blob user-delegation SAS as in Azure; every file
downloaded through its signed link."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import requests
from azure.storage.blob import BlobServiceClient

from domain import materialization as mat
from domain.bulk_export import BulkExports, ExportSpec
from stores.documents_cosmos import CosmosDocumentStore, cosmos_container
from stores.documents_embedded import EmbeddedDocumentStore
from stores.file_names import attachment_disposition
from stores.files_blob import BlobFileStore, account_key_of, blob_file_store, ensure_container
from stores.files_embedded import EmbeddedFileStore
from stores.ports import DocumentStore, FileStore
from tests.integration.emulators import Azurite, CosmosServer
from tests.integration.stores.test_documents_cosmos import emulator_settings
from tests.integration.stores.test_files_blob import UnsignedEntraToken, azurite_settings
from tests.support.fakes import MemoryGold, gold_day_rows
from tests.unit.stores.test_files_embedded import fetch_embedded

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

# (bytes, Content-Type, Content-Disposition) a client gets from a signed link.
Download = tuple[bytes, str, str]
Stores = tuple[FileStore, Callable[[str], Download]]


def gold() -> MemoryGold:
    return MemoryGold(
        {
            "11": [
                r for d in ("2024-03-30", "2024-03-31") for r in gold_day_rows(d, {"eolien": 10.0, "solaire": None})
            ],
            "93": gold_day_rows("2024-10-27", {"hydraulique": 300.0, "consommation": 400.0}),
        }
    )


def over_http(url: str) -> Download:
    response = requests.get(url, timeout=30, verify=False)
    assert response.status_code == 200, response.text[:300]
    return response.content, response.headers["Content-Type"], response.headers["Content-Disposition"]


STACKS = ["embedded", "blob-key", "cosmos+blob-delegated"]


@pytest.fixture(params=STACKS)
def file_store(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    container = f"bulk-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        embedded = EmbeddedFileStore(tmp_path / "files", b"k" * 32, "http://127.0.0.1:7071")
        fetch = fetch_embedded(embedded)

        def through_devhost(url: str) -> Download:  # what devhost's /_files route answers
            data, disposition = fetch(url)
            return data, EmbeddedFileStore.media_type(url.split("?")[0]), disposition

        return embedded, through_devhost
    if request.param == "blob-key":
        azurite: Azurite = request.getfixturevalue("azurite")
        return blob_file_store(azurite_settings(azurite, container)), over_http
    oauth: Azurite = request.getfixturevalue("azurite_oauth")
    service = BlobServiceClient(oauth.blob_endpoint, credential=UnsignedEntraToken(), connection_verify=False)
    assert account_key_of(service) is None
    ensure_container(service, container)
    return BlobFileStore(service, container, account_key=None), over_http


@pytest.fixture
def exports(
    file_store: Stores, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[BulkExports, Callable[[str], Download]]:
    files, fetch = file_store
    documents: DocumentStore
    if request.node.callspec.params["file_store"].startswith("cosmos"):
        server: CosmosServer = request.getfixturevalue("cosmos_server")
        documents = CosmosDocumentStore(cosmos_container(emulator_settings(server, f"bulk{uuid.uuid4().hex[:8]}")))
    else:
        documents = EmbeddedDocumentStore(tmp_path / "documents.sqlite")
    plan = mat.plan(gold(), documents, {"mode": "incremental"}, parallelism=4)
    mat.commit(documents, plan, [mat.materialize_batch(gold(), documents, files, b) for b in plan["batches"]])
    return BulkExports(documents, files), fetch


@pytest.mark.parametrize(
    ("spec", "media_type", "rows"),
    [
        (ExportSpec("parquet", "2024", None), "application/vnd.apache.parquet", 48 + 46 + 50),
        (ExportSpec("parquet", "2024-03", "11"), "application/vnd.apache.parquet", 48 + 46),
        (ExportSpec("csv", "2024", None), "text/csv; charset=utf-8", 3),
        (ExportSpec("csv", "2024-03-31", None), "text/csv; charset=utf-8", 46),
    ],
)
def test_a_bulk_file_is_built_once_and_downloads_through_its_link(
    exports: tuple[BulkExports, Callable[[str], Download]], spec: ExportSpec, media_type: str, rows: int
) -> None:
    bulk, fetch = exports
    name = bulk.file_for(spec)
    assert name is not None
    data, content_type, disposition = fetch(bulk.files.signed_url(name, 600, spec.download_name))
    assert content_type == media_type and disposition == attachment_disposition(spec.download_name)
    if spec.fmt == "parquet":
        frame = pd.read_parquet(io.BytesIO(data))
        assert len(frame) == rows and str(frame["timestamp"].dt.tz) == "Europe/Paris"
    else:
        assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == rows + 1
    assert bulk.file_for(spec) == name and bulk.files.read(name) == data  # the same version, untouched


def test_no_data_builds_nothing(exports: tuple[BulkExports, Callable[[str], Download]]) -> None:
    bulk, _ = exports
    assert bulk.file_for(ExportSpec("parquet", "2023", None)) is None
    assert bulk.file_for(ExportSpec("csv", "2024", "24")) is None
