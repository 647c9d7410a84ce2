"""The document store contract against @vercel/cosmosdb-server through the real azure-cosmos SDK."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from azure.core.pipeline import PipelineRequest
from azure.cosmos import ContainerProxy, CosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError
from azure.cosmos.http_constants import HttpHeaders

from core.settings import Settings
from stores.call_policy import Caller, call_policy
from stores.documents_cosmos import (
    PARTITION_KEY_PATH,
    CosmosDocumentStore,
    cosmos_client,
    cosmos_container,
)
from stores.errors import StoreUnavailable
from stores.ports import DocumentStore
from tests.integration.emulators import CosmosServer
from tests.support.store_contracts import DOCUMENT_STORE_CASES, make_doc, rendered_read_is_the_document_as_bytes

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


# The sync Cosmos store answers documents; their bytes are the reads port's (test_reads_aio.py).
@pytest.mark.parametrize(
    "case",
    [c for c in DOCUMENT_STORE_CASES if c is not rendered_read_is_the_document_as_bytes],
    ids=lambda c: c.__name__,
)
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


BATCH_RETRIES = call_policy(Settings(), Caller.batch).retries
READ_RETRIES = call_policy(Settings(), Caller.reads).retries


@pytest.mark.parametrize("caller", list(Caller))
def test_each_caller_gets_its_own_throttling_policy(cosmos_server: CosmosServer, caller: Caller) -> None:
    settings = emulator_settings(cosmos_server, "contract")
    retry = cosmos_client(settings, caller).client_connection.connection_policy.RetryOptions
    policy = call_policy(settings, caller)
    assert retry.MaxRetryAttemptCount == policy.retries
    assert retry.MaxWaitTimeInSeconds == policy.throttle_wait_seconds


@pytest.mark.parametrize(
    ("caller", "throttled_times", "found"),
    [
        (Caller.batch, 3, True),
        (Caller.batch, BATCH_RETRIES, True),
        (Caller.batch, BATCH_RETRIES + 1, False),
        (Caller.reads, READ_RETRIES, True),
        (Caller.reads, READ_RETRIES + 1, False),
    ],
    ids=["batch-few", "batch-as-many-as-retries", "batch-more", "reads-as-many-as-retries", "reads-more"],
)
def test_throttled_point_reads_are_retried_by_the_sdk_then_unavailable(
    cosmos_server: CosmosServer, caller: Caller, throttled_times: int, found: bool
) -> None:
    # The launcher answers 429 (x-ms-retry-after-ms: 5) to the first <n> reads of an id "throttled-<n>-...".
    store = CosmosDocumentStore(cosmos_container(emulator_settings(cosmos_server, "contract"), caller=caller))
    region = f"r-{uuid.uuid4().hex[:12]}"
    doc = {**make_doc(region, "2024-01-01"), "id": f"throttled-{throttled_times}-{uuid.uuid4().hex[:8]}"}
    store.upsert(doc)
    if found:
        assert store.get(region, doc["id"]) == doc
    else:
        with pytest.raises(StoreUnavailable) as raised:
            store.get(region, doc["id"])
        assert raised.value.reason == "HTTP 429"
        assert raised.value.retry_after_seconds == 1  # 5 ms, rounded up to whole seconds


def test_materialization_writes_are_low_priority_and_reads_are_not(cosmos_server: CosmosServer) -> None:
    """Every write of the store carries x-ms-cosmos-priority-level: Low (the emulator accepts it); the reads the
    API serves carry no priority, so Cosmos DB's default High."""
    sent: list[tuple[str, str | None]] = []  # (operation, priority header)

    def record(request: PipelineRequest) -> None:
        http = request.http_request
        query = http.headers.get(HttpHeaders.IsQuery) == "true" or http.headers.get(HttpHeaders.IsQueryPlanRequest)
        operation = "read" if http.method == "GET" or query else "write"
        sent.append((operation, http.headers.get(HttpHeaders.PriorityLevel)))

    settings = emulator_settings(cosmos_server, "contract")
    cosmos_container(settings)  # the database and container, made as the other tests make them
    client = CosmosClient(
        settings.COSMOS_ENDPOINT or "", settings.COSMOS_KEY or "", connection_verify=False, raw_request_hook=record
    )
    store = CosmosDocumentStore(client.get_database_client("contract").get_container_client("aggregates"))
    region = f"r-{uuid.uuid4().hex[:12]}"
    doc = make_doc(region, "2024-01-01")
    sent.clear()
    store.upsert(doc)
    assert store.replace_if(make_doc(region, "2024-01-02"), None) is True
    current, version = store.get_versioned(region, doc["id"])
    assert current == doc and store.replace_if({**doc, "version": 2}, version) is True
    assert len(store.query_range(region, "day", "2024-01-01", "2024-01-02")) == 2
    assert store.get(region, doc["id"]) == {**doc, "version": 2}  # each write was accepted
    assert [p for op, p in sent if op == "write"] == ["Low"] * 3  # upsert, create, replace
    reads = [p for op, p in sent if op == "read"]
    assert len(reads) >= 3 and set(reads) == {None}
