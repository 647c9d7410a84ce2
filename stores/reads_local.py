"""The async reads ports over a store that answers at once (the embedded SQLite files, the tests' memory stores).

A local read is a lookup in a file or a dict (microseconds, no network wait): it is answered on the event loop,
with nothing to yield for, so each `async def` here calls the sync store and returns.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.ports import Document, DocumentStore, FileStore, RenderedDocument, StoredItems


class LocalDocumentReads:
    """DocumentReads over a sync DocumentStore that answers at once."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    async def get_rendered(self, region_code: str, doc_id: str) -> RenderedDocument | None:
        get_rendered = getattr(self.store, "get_rendered", None)  # the embedded store keeps the bytes it answers
        if get_rendered is not None:
            found: RenderedDocument | None = get_rendered(region_code, doc_id)
            return found
        doc = self.store.get(region_code, doc_id)
        return None if doc is None else rendered_document(doc)

    async def query_range(self, region_code: str, doc_type: str, first_key: str, last_key: str) -> list[Document]:
        return self.store.query_range(region_code, doc_type, first_key, last_key)

    async def range_hashes(
        self, region_code: str, doc_type: str, first_key: str, last_key: str
    ) -> list[tuple[str, str]]:
        return self.store.range_hashes(region_code, doc_type, first_key, last_key)

    async def range_items(
        self, region_code: str, doc_type: str, first_key: str, last_key: str, field: str
    ) -> dict[str, StoredItems]:
        range_items = getattr(self.store, "range_items", None)  # a store that keeps none: rendered by the reader
        if range_items is None:
            return {}
        found: dict[str, StoredItems] = range_items(region_code, doc_type, first_key, last_key, field)
        return found

    async def ping(self) -> None:
        self.store.ping()


class LocalFileReads:
    """FileReads over a sync FileStore that answers at once (its links signed locally)."""

    def __init__(self, store: FileStore) -> None:
        self.store = store

    async def read_head(self, name: str, size: int) -> bytes | None:
        return self.store.read_head(name, size)

    async def signed_url(self, name: str, ttl_seconds: int, download_name: str) -> str:
        return self.store.signed_url(name, ttl_seconds, download_name)

    async def ping(self) -> None:
        self.store.ping()


def rendered_document(doc: dict[str, Any]) -> RenderedDocument:
    """A parsed document as a read answers it: store metadata (`_rid`, `_etag`...) left out, gzip made on demand."""
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    content_hash = body.get("content_hash")
    return RenderedDocument(
        orjson.dumps(body), None, content_hash if isinstance(content_hash, str) else None, body.get("final") is True
    )
