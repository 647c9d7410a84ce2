"""The changes feed: the day and month documents each materialization batch changed, in commit order.

Why a log of our own: cosmosdb-server implements no change feed, and Cosmos's own feed keeps only the latest
version of an item, ordered within a partition only. Here every batch appends one page (a document) listing
what it changed; the page's sequence number is allocated by creating `changes:<seq>` only while it is absent
(Cosmos create → 409, SQLite `ON CONFLICT DO NOTHING`). A writer tries the number after the highest it knows,
and the next one after a refusal, so page n+1 is only ever created once page n exists: the sequence has no
hole, pages are never rewritten, and a reader that has read up to page n cannot miss a page appended later.

A page is appended after its documents are written: a reader that sees the page reads those documents (or
newer ones). Positions are (page, index in the page); the API hands them out as opaque cursors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from domain.conditional_write import write_versioned
from domain.ports import Document, DocumentStore
from domain.revisions import revisions_doc_id, unrecorded, with_versions

CHANGES_PARTITION = "_changes"
PAGE_DOC_TYPE = "changes"
HEAD_DOC_ID = "changes-head"  # a hint: the highest page known to exist (may lag, never leads)
# A reader gives up waiting for a page number that another writer is still trying to create after this many
# refusals in a row only in a pathological store; each refusal means another writer's page landed.
MAX_APPEND_ATTEMPTS = 10_000
_REREAD_HEAD_EVERY = 8
CURSOR_PATTERN = r"^c[0-9a-f]{1,12}$"  # 48 bits: pages below 2**28 (page_key's 12 digits), entries below 2**20
_CURSOR = re.compile(CURSOR_PATTERN)
_ENTRY_BITS = 20


class Position(NamedTuple):
    """The next change to deliver: entry `entry` (from 0) of page `page` (from 1)."""

    page: int
    entry: int


START = Position(1, 0)


class InvalidCursor(ValueError):
    """A cursor this feed did not hand out."""


def encode_cursor(position: Position) -> str:
    """`c` + hex of (page - 1) << 20 | entry: every string of CURSOR_PATTERN decodes to a position, so the
    pattern the API documents is exactly the set of cursors it accepts."""
    return f"c{(position.page - 1) << _ENTRY_BITS | position.entry:x}"


def decode_cursor(cursor: str) -> Position:
    if _CURSOR.fullmatch(cursor) is None:
        raise InvalidCursor("not a cursor of this feed")
    value = int(cursor[1:], 16)
    return Position((value >> _ENTRY_BITS) + 1, value & ((1 << _ENTRY_BITS) - 1))


def page_key(page: int) -> str:
    """Zero-padded, so that the store's text order of keys is the numeric order of pages."""
    return f"{page:012d}"


def change_entry(doc: Document, materialized_at: str) -> dict[str, Any]:
    """What the feed says of one written document (day or month)."""
    return {
        "region": doc["region_code"],
        "kind": doc["doc_type"],
        "key": doc["key"],
        "content_hash": doc["content_hash"],
        "nature": doc.get("nature"),  # months mix natures: null
        "final": bool(doc.get("final")),
        "loaded_at": doc.get("source_loaded_at"),
        "materialized_at": materialized_at,
    }


def _head(documents: DocumentStore) -> int:
    head = documents.get(CHANGES_PARTITION, HEAD_DOC_ID)
    return int(head["value"]) if head else 0


def _advance_head(documents: DocumentStore, page: int) -> None:
    """One compare-and-swap attempt: a lost race or a crash only leaves the hint behind, which costs the next
    writer a few refused creates, never a hole."""
    current, version = documents.get_versioned(CHANGES_PARTITION, HEAD_DOC_ID)
    if current is not None and int(current["value"]) >= page:
        return
    doc = {"id": HEAD_DOC_ID, "region_code": CHANGES_PARTITION, "doc_type": "changes-head", "key": HEAD_DOC_ID}
    documents.replace_if({**doc, "value": page}, version)


def append_changes(documents: DocumentStore, entries: Sequence[dict[str, Any]], committed_at: str) -> int:
    """Append one page holding `entries`; its page number."""
    page = _head(documents) + 1
    for attempt in range(1, MAX_APPEND_ATTEMPTS + 1):
        doc = {
            "id": f"{PAGE_DOC_TYPE}:{page_key(page)}",
            "region_code": CHANGES_PARTITION,
            "doc_type": PAGE_DOC_TYPE,
            "key": page_key(page),
            "page": page,
            "committed_at": committed_at,
            "entries": list(entries),
        }
        if documents.replace_if(doc, None):
            _advance_head(documents, page)
            return page
        page += 1
        if attempt % _REREAD_HEAD_EVERY == 0:
            page = max(page, _head(documents) + 1)
    raise RuntimeError(f"no free page of the changes feed after {MAX_APPEND_ATTEMPTS} attempts")


class FeedRead(NamedTuple):
    entries: list[dict[str, Any]]  # each with its `page`
    next: Position  # where the next read starts (also when nothing was read)
    more: bool  # entries were already there beyond this read


def read_changes(documents: DocumentStore, since: Position, limit: int, *, window: int = 16) -> FeedRead:
    """Up to `limit` entries from `since`, in commit order. Reads pages in growing key windows and stops at the
    first missing page number: a page being created right now is delivered by a later read, never skipped."""
    page, index = since
    out: list[dict[str, Any]] = []
    while True:
        pages = documents.query_range(CHANGES_PARTITION, PAGE_DOC_TYPE, page_key(page), page_key(page + window - 1))
        for doc in pages:
            if doc.get("page") != page:
                return FeedRead(out, Position(page, index), False)  # not contiguous (cannot happen): stop
            entries = doc.get("entries", [])
            remaining = entries[index:]
            room = limit - len(out)
            out += [{**e, "page": page} for e in remaining[:room]]
            if len(remaining) > room:
                return FeedRead(out, Position(page, index + room), True)
            page, index = page + 1, 0
            if len(out) == limit:
                return FeedRead(out, Position(page, index), _exists(documents, page))
        if len(pages) < window:
            return FeedRead(out, Position(page, index), False)
        window = min(window * 2, 1024)


def _exists(documents: DocumentStore, page: int) -> bool:
    return documents.get(CHANGES_PARTITION, f"{PAGE_DOC_TYPE}:{page_key(page)}") is not None


def record_changes(
    documents: DocumentStore, region_code: str, month: str, stored: Sequence[Document], materialized_at: str
) -> int:
    """After a batch wrote its documents: announce those not yet in the region-month's history (one feed page),
    then append them to the history. In this order a crash in between announces them twice, never zero times.
    The number of documents announced."""
    record_id = revisions_doc_id(region_code, month)
    pending = unrecorded(documents.get(region_code, record_id), stored)
    if not pending:
        return 0
    page = append_changes(documents, [change_entry(d, materialized_at) for d in pending], materialized_at)
    write_versioned(
        documents,
        None,
        region_code,
        record_id,
        lambda current: with_versions(current, region_code, month, pending, materialized_at, page),
    )
    return len(pending)
