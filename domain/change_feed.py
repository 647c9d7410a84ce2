"""The changes feed: the day and month documents each materialization batch changed, in commit order.

Why a log of our own: cosmosdb-server implements no change feed, and Cosmos's own feed keeps only the latest
version of an item, ordered within a partition only. Here every batch appends one page (a document) listing
what it changed; the page's sequence number is allocated by creating `changes:<seq>` only while it is absent
(Cosmos create → 409, SQLite `ON CONFLICT DO NOTHING`). A writer tries the number after the highest it knows,
and the next one after a refusal, so page n+1 is only ever created once page n exists: the sequence has no
hole, pages are never rewritten, and a reader that has read up to page n cannot miss a page appended later.

A page is appended after its documents are written: a reader that sees the page reads those documents (or
newer ones). Positions are (page, index in the page); the API hands them out as opaque cursors.

A page holds one batch (one region-month: at most 31 days and the month), so its size is bounded
(MAX_PAGE_ENTRIES, MAX_PAGE_BYTES). Its `content_hash` is the batch key (`batch_key`): a retried batch finds its
own page among the last ones by `range_hashes`, without reading page bodies, and does not append it again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from domain.conditional_write import write_versioned
from domain.hashing import canonical_json
from domain.ports import Document, DocumentStore
from domain.revisions import (
    MAX_KEPT_VERSIONS,
    announced_doc_id,
    announced_hashes,
    from_legacy,
    is_legacy,
    revisions_doc_id,
    unrecorded,
    with_announced,
    with_version,
)

log = logging.getLogger(__name__)

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
MAX_PAGE_ENTRIES: Final[int] = 32  # one batch: 31 days and their month
MAX_ENTRY_BYTES: Final[int] = 512  # checked against built documents (tests/unit/domain/test_document_bounds.py)
MAX_PAGE_BYTES: Final[int] = 1_024 + MAX_PAGE_ENTRIES * MAX_ENTRY_BYTES  # 17 kB
# How far back (and past the head hint) a retried batch looks for the page it appended before failing: ids and
# batch keys only, ~100 B a page. Further back than this, a retry announces again (tolerated, never a loss).
RECENT_PAGES: Final[int] = 128
# `event` of the log record of a failed history write (what an alert on the logs counts; see record_changes).
HISTORY_WRITE_FAILED: Final[str] = "revision_history_write_failed"


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


def append_changes(
    documents: DocumentStore, entries: Sequence[dict[str, Any]], committed_at: str, batch: str | None = None
) -> int:
    """Append one page holding `entries` (and `batch`, its batch key, as its content_hash); its page number."""
    if len(entries) > MAX_PAGE_ENTRIES:
        raise ValueError(f"a page holds one batch: {len(entries)} entries > {MAX_PAGE_ENTRIES}")
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
        if batch is not None:
            doc["content_hash"] = batch
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


def batch_key(region_code: str, month: str, generation: int, pending: Sequence[Document]) -> str:
    """What a batch announces, as a key: the same batch retried (the index not written yet, so at the same
    generation) gets the same key; a later change, even back to an earlier content, a new generation."""
    body = [region_code, month, generation, sorted((d["key"], d["content_hash"]) for d in pending)]
    return "batch:" + hashlib.sha256(canonical_json(body)).hexdigest()


def _announced_page(documents: DocumentStore, key: str) -> int | None:
    """The page among the last RECENT_PAGES (and any past the head hint) whose batch key is `key`."""
    head = _head(documents)
    first, last = page_key(max(1, head - RECENT_PAGES + 1)), page_key(head + RECENT_PAGES)
    found = [doc_id for doc_id, h in documents.range_hashes(CHANGES_PARTITION, PAGE_DOC_TYPE, first, last) if h == key]
    return int(found[-1].rsplit(":", 1)[1]) if found else None


def _record_history(
    documents: DocumentStore,
    region_code: str,
    doc: Document,
    materialized_at: str,
    page: int,
    keep: int,
    *,
    likely_absent: bool = False,
) -> None:
    """Append `doc`'s version to its history. Never fatal: the feed page is out and the documents are written;
    a history that cannot be written (a store error, a record refused as too large) loses this version of the
    history only, and says so in an error record whose `event` an alert counts."""
    doc_id = revisions_doc_id(region_code, doc["key"])
    try:
        write_versioned(
            documents,
            None,
            region_code,
            doc_id,
            lambda current: with_version(current, region_code, doc, materialized_at, page, keep),
            likely_absent=likely_absent,
        )
    except Exception as exc:  # any failure: the batch goes on (see the docstring)
        log.error(
            "revision history write failed for %s/%s (feed page %s): %s",
            region_code,
            doc_id,
            page,
            exc,
            exc_info=True,
            extra={
                "event": HISTORY_WRITE_FAILED,
                "region_code": region_code,
                "doc_id": doc_id,
                "content_hash": doc["content_hash"],
                "feed_page": page,
                "error_type": type(exc).__name__,
            },
        )


def _migrate_legacy(documents: DocumentStore, region_code: str, month: str, keep: int) -> Document | None:
    """A region-month whose history is still one legacy record: split it into per-key records (those not yet
    there; the month's own record replaces the legacy one, last) and write the index of what it announced.
    The written index; None when there is no legacy record. Repeatable: every step skips what is done."""
    legacy = documents.get(region_code, revisions_doc_id(region_code, month))
    if not is_legacy(legacy):
        return None
    assert legacy is not None
    keys = sorted(legacy["documents"], key=lambda k: (len(k) == 7, k))  # days first, the month (same id) last
    for key in keys:

        def build(current: Document | None, key: str = key) -> Document | None:
            if current is not None and not is_legacy(current):
                return None  # already split
            return from_legacy(legacy, region_code, key, keep)

        try:
            write_versioned(documents, None, region_code, revisions_doc_id(region_code, key), build)
        except Exception:  # as a failed history write: logged, the announcement goes on
            log.error(
                "revision history migration failed for %s/%s",
                region_code,
                key,
                exc_info=True,
                extra={
                    "event": HISTORY_WRITE_FAILED,
                    "region_code": region_code,
                    "doc_id": revisions_doc_id(region_code, key),
                },
            )
    latest = [
        {"key": k, "content_hash": versions[-1]["content_hash"]}
        for k, versions in legacy["documents"].items()
        if versions
    ]
    outcome = write_versioned(
        documents,
        None,
        region_code,
        announced_doc_id(region_code, month),
        lambda current: None if current is not None else with_announced(None, region_code, month, latest),
    )
    return outcome.stored


def record_changes(
    documents: DocumentStore,
    region_code: str,
    month: str,
    stored: Sequence[Document],
    materialized_at: str,
    *,
    keep: int = MAX_KEPT_VERSIONS,
) -> int:
    """After a batch wrote its documents: announce those not announced yet (one feed page), append them to their
    histories, then record them as announced in the region-month's index. The number of documents announced.

    Why an index of its own (`{region}:{month}:announced`, at most 32 hashes) rather than the histories' latest
    versions: one point read answers for the whole batch (per-day histories would cost a read per day), it stays
    small whatever the histories hold, and a history write may fail without the batch failing.

    Crash safety, the index being written last:
    - a crash before the page: nothing announced, the retry announces;
    - a crash (or failure) after the page, before the index: the retry computes the same batch key (same index
      generation, same contents), finds its page among the last RECENT_PAGES and does not append it again; only
      a page pushed further back than that by other batches is appended again (announced twice, never lost);
    - a history write that fails is logged (HISTORY_WRITE_FAILED) and skipped: the history misses that version;
    - a batch run again after it completed finds everything in the index: no page, no write.
    """
    index = documents.get(region_code, announced_doc_id(region_code, month))
    if index is None:
        index = _migrate_legacy(documents, region_code, month, keep)
    announced = announced_hashes(index)
    pending = unrecorded(announced, stored)
    if not pending:
        return 0
    key = batch_key(region_code, month, int((index or {}).get("generation", 0)), pending)
    page = _announced_page(documents, key)
    if page is None:
        entries = [change_entry(d, materialized_at) for d in pending]
        page = append_changes(documents, entries, materialized_at, key)
    for doc in pending:
        # Never announced: its history most likely does not exist either (saves the read on first writes).
        absent = doc["key"] not in announced
        _record_history(documents, region_code, doc, materialized_at, page, keep, likely_absent=absent)
    write_versioned(
        documents,
        None,
        region_code,
        announced_doc_id(region_code, month),
        lambda current: with_announced(current, region_code, month, pending),
    )
    return len(pending)
