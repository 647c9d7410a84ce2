"""Cosmos DB document store: one container partitioned by /region_code; point reads and single-partition queries."""

from __future__ import annotations

import json
import logging
from typing import Any, Final, Literal

import orjson
from azure.core import MatchConditions
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosClientTimeoutError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from core.settings import Settings
from domain.items import ITEM_FIELDS, stored_items
from domain.ports import StoredItems
from stores.azure_faults import azure_faults_as_unavailable
from stores.call_policy import Caller, CallPolicy, call_policy
from stores.ports import Document

log = logging.getLogger(__name__)

SYSTEM_FIELDS = frozenset({"_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"})
PARTITION_KEY_PATH = "/region_code"

# Queries run in one partition (partition_key=region_code). They also filter on region_code: redundant in
# Cosmos DB, but it keeps the text self-contained and correct where the partition header is ignored
# (@vercel/cosmosdb-server scans every partition).
_RANGE_QUERY = (
    "SELECT * FROM c WHERE c.region_code = @r AND c.doc_type = @t AND c.key >= @a AND c.key <= @b ORDER BY c.key"
)
_RANGE_HASHES_QUERY = (
    "SELECT c.id, c.content_hash FROM c WHERE c.region_code = @r AND c.doc_type = @t AND c.key >= @a "
    "AND c.key <= @b ORDER BY c.key"
)
_HASHES_QUERY = "SELECT c.id, c.content_hash FROM c WHERE c.region_code = @r AND ARRAY_CONTAINS(@ids, c.id)"
# Keeps each query text + parameters far below Cosmos's 256 KB query size limit.
_IDS_PER_QUERY = 500

STORE_NAME = "documents"
# Priority-based execution (azure-cosmos >= 4.5.2b2, the x-ms-cosmos-priority-level header): once the account
# reaches its throughput, Cosmos DB throttles Low requests before High ones. Every write of this store is the
# materialization's (the API only reads), so the writes go Low and the reads served to HTTP keep the default
# High. Best effort, and only where the account has the feature enabled; elsewhere the header is ignored.
WRITE_PRIORITY: Final[Literal["Low"]] = "Low"


def _hashes_parameters(region_code: str, doc_ids: list[str]) -> list[list[dict[str, Any]]]:
    """The parameters of each content-hash query for `doc_ids` (unique, at most _IDS_PER_QUERY a query)."""
    unique = list(dict.fromkeys(doc_ids))
    return [
        [{"name": "@r", "value": region_code}, {"name": "@ids", "value": unique[start : start + _IDS_PER_QUERY]}]
        for start in range(0, len(unique), _IDS_PER_QUERY)
    ]


def _range_parameters(region_code: str, doc_type: str, first_key: str, last_key: str) -> list[dict[str, Any]]:
    return [
        {"name": "@r", "value": region_code},
        {"name": "@t", "value": doc_type},
        {"name": "@a", "value": first_key},
        {"name": "@b", "value": last_key},
    ]


def _strip(item: dict[str, Any]) -> Document:
    return {k: v for k, v in item.items() if k not in SYSTEM_FIELDS}


# Each item holds its document's JSON as written (BODY_FIELD, a string), beside the fields the queries, the index
# and a read's headers use: a point read answers those bytes as they are (no parse by the app, no re-encoding),
# and the SDK's own parse of the item meets one long string rather than the document's ~2,000 values. Items
# written before (the document's fields themselves) are read as they are. The indexing policy
# (infra/bicep/core/cosmos.bicep) indexes only the envelope's fields.
BODY_FIELD = "document_json"
_ENVELOPE = ("doc_type", "key", "content_hash", "final")
# Each granularity's items, pre-serialized: [their JSON texts joined by ",", each one's offset, each one's date].
ITEMS_PREFIX = "items_"
_ITEM_FIELD_NAMES = frozenset(field for fields in ITEM_FIELDS.values() for field in fields)


def document_json(doc: Document) -> str:
    """The document's JSON text: orjson's for a document with a content hash (its numbers were checked finite by
    the hashing), else the stdlib's, which refuses NaN (orjson would write null)."""
    if isinstance(doc.get("content_hash"), str):
        return orjson.dumps(doc).decode()
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def item_of(doc: Document) -> dict[str, Any]:
    """The Cosmos item of a document: its id, partition, envelope fields and JSON."""
    if not isinstance(doc.get("region_code"), str) or not isinstance(doc.get("id"), str):
        raise ValueError("a document needs string `id` and `region_code`")
    item = {"id": doc["id"], "region_code": doc["region_code"]}
    item.update((name, doc[name]) for name in _ENVELOPE if name in doc)
    item[BODY_FIELD] = document_json(doc)
    for field, stored in stored_items(doc).items():  # the items a range answers, pre-serialized (domain.items)
        item[ITEMS_PREFIX + field] = [stored.blob.decode(), list(stored.starts), list(stored.dates)]
    return item


def _range_items_query(field: str) -> str:
    if field not in _ITEM_FIELD_NAMES:  # a fixed set: the field's name goes into the query text
        raise ValueError(f"no stored items for {field!r}")
    return (
        f"SELECT c.id, c.content_hash, c.{ITEMS_PREFIX}{field} AS items FROM c WHERE c.region_code = @r "  # noqa: S608
        "AND c.doc_type = @t AND c.key >= @a AND c.key <= @b"
    )


def stored_items_of(item: dict[str, Any]) -> StoredItems | None:
    """The StoredItems of a range items query's row; None for a document written without them."""
    items, content_hash = item.get("items"), item.get("content_hash")
    if not isinstance(items, list) or len(items) != 3 or not isinstance(content_hash, str):
        return None
    blob, starts, dates = items
    return StoredItems(content_hash, blob.encode(), tuple(starts), tuple(dates))


def document_of(item: dict[str, Any]) -> Document:
    """The document an item holds (an item of the earlier layout: its own fields, the system ones left out)."""
    body = item.get(BODY_FIELD)
    if isinstance(body, str):
        doc: Document = orjson.loads(body)
        return doc
    return _strip(item)


def _unavailable() -> Any:
    """Throttled, unavailable, reset or timed out after the client's own retries: StoreUnavailable."""
    return azure_faults_as_unavailable(STORE_NAME, also=(CosmosClientTimeoutError,))


class CosmosDocumentStore:
    """DocumentStore over a Cosmos container whose partition key is /region_code."""

    def __init__(self, container: ContainerProxy) -> None:
        self.container = container

    def upsert(self, doc: Document) -> None:
        item = item_of(doc)
        with _unavailable():
            self.container.upsert_item(item, priority=WRITE_PRIORITY)

    def get(self, region_code: str, doc_id: str) -> Document | None:
        try:
            with _unavailable():
                item = self.container.read_item(item=doc_id, partition_key=region_code)
        except CosmosResourceNotFoundError:
            return None
        return document_of(item)

    def get_versioned(self, region_code: str, doc_id: str) -> tuple[Document | None, str | None]:
        try:
            with _unavailable():
                item = self.container.read_item(item=doc_id, partition_key=region_code)
        except CosmosResourceNotFoundError:
            return None, None
        return document_of(item), item.get("_etag")

    def replace_if(self, doc: Document, version: str | None) -> bool:
        """Create (version None) or replace with If-Match: 409 / 412 / 404 mean another writer came first."""
        item = item_of(doc)
        try:
            with _unavailable():
                if version is None:
                    self.container.create_item(item, priority=WRITE_PRIORITY)
                else:
                    self.container.replace_item(
                        item=doc["id"],
                        body=item,
                        etag=version,
                        match_condition=MatchConditions.IfNotModified,
                        priority=WRITE_PRIORITY,
                    )
        except (CosmosResourceExistsError, CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            return False
        return True

    def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        with _unavailable():  # the query runs while its pages are iterated
            items = self.container.query_items(
                query=_RANGE_QUERY,
                parameters=_range_parameters(region_code, doc_type, first_key, last_key),
                partition_key=region_code,
            )
            return [document_of(item) for item in items]

    def range_hashes(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[tuple[str, str]]:
        # A projection: the RU charge and the bytes of a few fields, not of the whole documents.
        with _unavailable():
            items = self.container.query_items(
                query=_RANGE_HASHES_QUERY,
                parameters=_range_parameters(region_code, doc_type, first_key, last_key),
                partition_key=region_code,
            )
            return [(item["id"], item.get("content_hash") or "") for item in items]

    def content_hashes(self, region_code: str, doc_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with _unavailable():
            for parameters in _hashes_parameters(region_code, doc_ids):
                items = self.container.query_items(
                    query=_HASHES_QUERY, parameters=parameters, partition_key=region_code
                )
                for item in items:
                    if isinstance(item.get("content_hash"), str):
                        found[item["id"]] = item["content_hash"]
        return found

    def ping(self) -> None:
        with _unavailable():
            self.container.read()


def _retry_options(policy: CallPolicy) -> dict[str, Any]:
    """Client options for one CallPolicy.

    429 is retried by the SDK's ResourceThrottleRetryPolicy, honouring x-ms-retry-after-ms, up to `attempts`
    and `throttle_wait_seconds` in all; refused/reset connections by its connection policy; every attempt
    has `timeout_seconds` to connect and to read; `timeout` caps the whole call.
    """
    return {
        "retry_throttle_total": max(1, policy.retries),  # the SDK reads 0 as "its default"
        "retry_throttle_backoff_max": policy.throttle_wait_seconds,
        "retry_total": policy.retries,
        "retry_connect": policy.retries,
        "retry_read": policy.retries,
        "retry_status": policy.retries,
        "connection_timeout": policy.timeout_seconds,
        "read_timeout": policy.timeout_seconds,
        "timeout": policy.deadline_seconds,
    }


def cosmos_client(settings: Settings, caller: Caller = Caller.batch) -> CosmosClient:
    """Client for settings.COSMOS_ENDPOINT: the key when configured, else the managed identity.

    One per caller and worker: the API's reads get a short policy, the materialization a patient one.
    """
    if not settings.COSMOS_ENDPOINT:
        raise ValueError("COSMOS_ENDPOINT is not set")
    credential: Any
    if settings.COSMOS_KEY:
        credential = settings.COSMOS_KEY
    else:
        from azure.identity import DefaultAzureCredential  # imported only where it is used

        credential = DefaultAzureCredential()
    return CosmosClient(
        settings.COSMOS_ENDPOINT,
        credential=credential,
        connection_verify=settings.COSMOS_VERIFY_TLS,
        **_retry_options(call_policy(settings, caller)),
    )


def cosmos_container(
    settings: Settings, client: CosmosClient | None = None, caller: Caller = Caller.batch
) -> ContainerProxy:
    """The documents container, created (with partition key /region_code) only when it does not exist.

    In Azure, bicep creates the database and container and the app's data-plane role cannot create them:
    the *_if_not_exists calls read first, and a refusal to create (403) is logged, not raised.
    """
    client = client or cosmos_client(settings, caller)
    try:
        database = client.create_database_if_not_exists(id=settings.COSMOS_DATABASE)
        return database.create_container_if_not_exists(
            id=settings.COSMOS_CONTAINER, partition_key=PartitionKey(path=PARTITION_KEY_PATH)
        )
    except CosmosHttpResponseError as exc:
        if exc.status_code != 403:
            raise
        log.warning("no permission to create Cosmos database/container; using them as provisioned: %s", exc.message)
        return client.get_database_client(settings.COSMOS_DATABASE).get_container_client(settings.COSMOS_CONTAINER)
