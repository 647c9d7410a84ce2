"""Ports: what the domain needs from storage, defined here so that domain/ depends on no adapter.

Adapters (stores/) implement them; the flow of imports is Gold → domain → stores → api/activities/
orchestrations, never back (tests/integration/test_import_layers.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from domain.models import GoldRow

if TYPE_CHECKING:  # numpy and pandas stay out of processes that only read documents (HTTP, orchestrators)
    from domain.gold_columns import GoldColumns

Document = dict[str, Any]

# Partition of the documents that are not per region (watermark, catalog of materialized days, quarantine).
SYSTEM_PARTITION = "_system"


class DocumentStore(Protocol):
    """JSON documents partitioned by `region_code` (Cosmos container with partition key /region_code)."""

    def upsert(self, doc: Document) -> None:
        """Create or replace `doc` (it carries `id` and `region_code`)."""

    def get(self, region_code: str, doc_id: str) -> Document | None:
        """Point read by partition and id; None when absent."""

    def get_versioned(self, region_code: str, doc_id: str) -> tuple[Document | None, str | None]:
        """(document, version tag) by point read; (None, None) when absent. The tag changes at every write."""

    def replace_if(self, doc: Document, version: str | None) -> bool:
        """Write `doc` only while the stored version is still `version` (None: only while absent).

        False, writing nothing, when another writer came first (compare-and-swap: Cosmos If-Match)."""

    def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        """Single-partition query: documents of `doc_type` whose `key` is in [first_key, last_key], by key."""

    def content_hashes(self, region_code: str, doc_ids: list[str]) -> dict[str, str]:
        """`content_hash` of each existing document among `doc_ids` (to skip unchanged writes)."""

    def range_hashes(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[tuple[str, str]]:
        """(id, content_hash) of the documents `query_range` would return, in the same order, without bodies:
        lets a reader serve what it already rendered for an unchanged document."""

    def ping(self) -> None:
        """Raise when the store cannot be reached."""


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """A stored document as a read answers it: its JSON bytes (no store metadata), their gzip form when the
    store keeps one (None: compress on demand), its content hash and whether it says its data is final."""

    body: bytes
    gzip: bytes | None
    content_hash: str | None
    final: bool


@dataclass(frozen=True, slots=True)
class StoredItems:
    """A document's items of one granularity as a range answers them (all sources), pre-serialized when the
    document was written: their JSON texts joined by ",", each one's byte offset, and each one's date (month
    documents). `content_hash` is the document's they were rendered from."""

    content_hash: str
    blob: bytes
    starts: tuple[int, ...]
    dates: tuple[str, ...] = ()


class DocumentReads(Protocol):
    """The API's reads of the documents, awaited on the event loop: the aio Cosmos client's, or a local store's
    that answers at once. The materialization writes through the sync DocumentStore."""

    async def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        """The document as a read answers it (bytes, gzip form, content hash, finality); None when absent."""

    async def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]: ...

    async def range_hashes(
        self, region_code: str, doc_type: str, first_key: str, last_key: str
    ) -> list[tuple[str, str]]: ...

    async def range_items(
        self, region_code: str, doc_type: str, first_key: str, last_key: str, field: str
    ) -> dict[str, StoredItems]:
        """The stored items of `field` (domain.items) of the range's documents that have them, by id."""

    async def ping(self) -> None: ...


class FileReads(Protocol):
    """The API's reads of the files, awaited on the event loop (the aio Blob client's, or a local store's)."""

    async def read_head(self, name: str, size: int) -> bytes | None: ...

    async def signed_url(self, name: str, ttl_seconds: int, download_name: str) -> str: ...

    async def ping(self) -> None: ...


class FileStore(Protocol):
    """Immutable-looking files (CSV exports) and short-lived read-only links to them."""

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        """Write `name` unless it already holds exactly `data`; True when written."""

    def exists(self, name: str) -> bool: ...

    def read(self, name: str) -> bytes | None: ...

    def read_head(self, name: str, size: int) -> bytes | None:
        """The first `size` bytes (all of a shorter file); None when absent. `size` >= 1 (else ValueError)."""

    def signed_url(self, name: str, ttl_seconds: int, download_name: str) -> str:
        """A read-only link to this one file, valid `ttl_seconds`, served as an attachment."""

    def ping(self) -> None:
        """Raise when the store cannot be reached."""


class GoldSource(Protocol):
    """What the materializer reads from Gold (stores.gold.GoldReader)."""

    def changed_partitions(self, since: str | None) -> list[tuple[str, str, str]]: ...

    def partitions_in_range(
        self, first_day: str, last_day: str, region_codes: list[str] | None
    ) -> list[tuple[str, str, str]]: ...

    def region_rows(self, region_code: str, first_day: str, last_day: str) -> list[GoldRow]: ...

    def region_columns(self, region_code: str, first_day: str, last_day: str) -> GoldColumns:
        """The facts `region_rows` returns, as columns (what the materialization reads)."""
