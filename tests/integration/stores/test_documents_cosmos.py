"""The document store contract against @vercel/cosmosdb-server through the real azure-cosmos SDK."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from azure.cosmos import ContainerProxy
from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceNotFoundError

from stores.documents_cosmos import (
    PARTITION_KEY_PATH,
    THROTTLE_RETRY_ATTEMPTS,
    THROTTLE_RETRY_MAX_WAIT_SECONDS,
    CosmosDocumentStore,
    cosmos_client,
    cosmos_container,
)
from stores.ports import DocumentStore
from stores.settings import Settings
from tests.integration.emulators import CosmosServer
from tests.store_contracts import DOCUMENT_STORE_CASES, make_doc

pytestmark = [
    pytest.mark.integration,
    # The emulator's certificate is self-signed (COSMOS_VERIFY_TLS=False, emulator only).
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]


def emulator_settings(server: CosmosServer, database: str, container: str = "aggregates") -> Settings:
    return Settings(
        COSMOS_ENDPOINT=server.endpoint,
        COSMOS_KEY=server.key,
        COSMOS_VERIFY_TLS=False,
        COSMOS_DATABASE=database,
        COSMOS_CONTAINER=container,
    )


@pytest.fixture(scope="module")
def container(cosmos_server: CosmosServer) -> ContainerProxy:
    return cosmos_container(emulator_settings(cosmos_server, "contract"))


@pytest.fixture
def store(container: ContainerProxy) -> CosmosDocumentStore:
    return CosmosDocumentStore(container)


@pytest.mark.parametrize("case", DOCUMENT_STORE_CASES, ids=lambda c: c.__name__)
def test_document_store_contract(store: CosmosDocumentStore, case: Callable[[DocumentStore, str], None]) -> None:
    # A fresh partition per case: cases share the container but never see each other's documents.
    case(store, f"r-{uuid.uuid4().hex[:12]}")


def test_container_is_created_once_with_the_region_partition_key(cosmos_server: CosmosServer) -> None:
    settings = emulator_settings(cosmos_server, f"db{uuid.uuid4().hex[:8]}", "docs")
    first = cosmos_container(settings)
    CosmosDocumentStore(first).upsert(make_doc("11", "2024-01-01"))
    again = cosmos_container(settings)  # already there: reused, not recreated
    assert again.read()["partitionKey"]["paths"] == [PARTITION_KEY_PATH]
    assert CosmosDocumentStore(again).get("11", "11:2024-01-01") is not None


def test_raw_items_carry_system_fields_that_the_store_strips(store: CosmosDocumentStore) -> None:
    # Guards the stripping test against an emulator that would not add system fields at all.
    doc = make_doc("93", f"{uuid.uuid4().hex[:6]}")
    store.upsert(doc)
    raw = store.container.read_item(doc["id"], partition_key="93")
    assert {"_rid", "_etag", "_ts"} <= set(raw)
    assert store.get("93", doc["id"]) == doc


def test_ping_fails_on_a_missing_container(cosmos_server: CosmosServer) -> None:
    missing = cosmos_client(emulator_settings(cosmos_server, "contract")).get_database_client("contract")
    with pytest.raises(CosmosResourceNotFoundError):
        CosmosDocumentStore(missing.get_container_client("absent")).ping()


def test_throttling_retries_are_configured_explicitly(cosmos_server: CosmosServer) -> None:
    client = cosmos_client(emulator_settings(cosmos_server, "contract"))
    retry = client.client_connection.connection_policy.RetryOptions
    assert retry.MaxRetryAttemptCount == THROTTLE_RETRY_ATTEMPTS
    assert retry.MaxWaitTimeInSeconds == THROTTLE_RETRY_MAX_WAIT_SECONDS


@pytest.mark.parametrize(
    ("throttled_times", "found"),
    [(3, True), (THROTTLE_RETRY_ATTEMPTS, True), (THROTTLE_RETRY_ATTEMPTS + 1, False)],
    ids=["few", "as-many-as-retries", "more-than-retries"],
)
def test_throttled_point_reads_are_retried_by_the_sdk(
    store: CosmosDocumentStore, throttled_times: int, found: bool
) -> None:
    # The launcher answers 429 to the first <n> reads of an id "throttled-<n>-...".
    region = f"r-{uuid.uuid4().hex[:12]}"
    doc = {**make_doc(region, "2024-01-01"), "id": f"throttled-{throttled_times}-{uuid.uuid4().hex[:8]}"}
    store.upsert(doc)
    if found:
        assert store.get(region, doc["id"]) == doc
    else:
        with pytest.raises(CosmosHttpResponseError) as raised:
            store.get(region, doc["id"])
        assert raised.value.status_code == 429
