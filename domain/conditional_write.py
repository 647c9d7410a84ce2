"""Documents written by compare-and-swap, so that overlapping runs cannot regress one another.

A backfill and the incremental run may rebuild the same month, day or catalog at the same time. Each
write here reads the document with its version tag, builds the new content from what it read, and
writes only while the version is unchanged; a writer that lost the race reads again and rebuilds.
`build` may decline (return None) when the stored document is already newer than what it would write.

A document's CSV file is written before the document (the document is the commit marker) and is a pure
function of it: after a lost race the file is put again from the winning content (`put` writes only
when the bytes differ), so the last successful writer's file is the one that stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.ports import Document, DocumentStore, FileStore

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
MAX_ATTEMPTS = 20


class ConcurrentWriteError(RuntimeError):
    """Lost the race MAX_ATTEMPTS times in a row (the activity's retry tries again later)."""


@dataclass(frozen=True, slots=True)
class CsvFile:
    name: str
    render: Callable[[Document], bytes]


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    written: bool  # this writer's document was stored
    file_written: bool
    stored: Document | None  # the document in the store afterwards (ours or the newer one kept)
    attempts: int


def _same(current: Document | None, new: Document) -> bool:
    """Same content: by content hash when the document has one, else field by field."""
    if current is None:
        return False
    if "content_hash" in new:
        return bool(current.get("content_hash") == new["content_hash"])
    return current == new


def write_versioned(
    documents: DocumentStore,
    files: FileStore | None,
    region_code: str,
    doc_id: str,
    build: Callable[[Document | None], Document | None],
    csv: CsvFile | None = None,
    *,
    likely_absent: bool = False,
) -> WriteOutcome:
    """Read-build-write `doc_id` until the write lands on the version that was read, or nothing is to write.

    `likely_absent` (the caller just saw no such document): the first attempt creates it without reading.
    """
    file_written = lost = False
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if likely_absent and attempt == 1:
            current, version = None, None
        else:
            current, version = documents.get_versioned(region_code, doc_id)
        new = build(current)
        unchanged = new is None or _same(current, new)
        if unchanged:
            if csv is not None and files is not None and current is not None and (lost or not files.exists(csv.name)):
                file_written |= files.put(csv.name, csv.render(current), CSV_CONTENT_TYPE)
            return WriteOutcome(False, file_written, current, attempt)
        assert new is not None  # for the type checker: `unchanged` covers None
        if csv is not None and files is not None:
            file_written |= files.put(csv.name, csv.render(new), CSV_CONTENT_TYPE)
        if documents.replace_if(new, version):
            return WriteOutcome(True, file_written, new, attempt)
        lost = True
    raise ConcurrentWriteError(f"{region_code}/{doc_id}: another writer won {MAX_ATTEMPTS} times in a row")
