"""SQLite failures that retrying later may cure, raised as StoreUnavailable (the embedded documents store).

The embedded store's counterpart of azure_faults: a lock held past the busy timeout, a disk that fails a
read or write, a file that cannot be opened now. Anything else (a bug, a corrupt file) passes through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stores.errors import StoreUnavailable

# Primary result codes (the low byte of sqlite_errorcode; SQLITE_IOERR_READ is an SQLITE_IOERR).
TRANSIENT_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,  # "database is locked": another connection's lock, past the busy timeout
        sqlite3.SQLITE_LOCKED,  # a conflict inside a shared cache
        sqlite3.SQLITE_IOERR,  # "disk I/O error"
        sqlite3.SQLITE_CANTOPEN,  # the file or its journal cannot be opened now
        sqlite3.SQLITE_FULL,  # "database or disk is full": writes fail until space is freed
        sqlite3.SQLITE_PROTOCOL,  # a WAL lock race that retrying resolves
        sqlite3.SQLITE_INTERRUPT,  # an interrupted statement
    }
)
# Codes after which this connection is best replaced (its file handle may be the broken part).
RECONNECT_CODES = frozenset({sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN})


def primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def as_unavailable(
    exc: sqlite3.OperationalError, store: str, on_broken: Callable[[], None] | None = None
) -> StoreUnavailable:
    """The StoreUnavailable that a transient `exc` stands for (`on_broken` drops a broken connection first);
    any other failure is raised again as it is."""
    code = primary_code(exc)
    if code not in TRANSIENT_CODES:
        raise exc
    if code in RECONNECT_CODES and on_broken is not None:
        on_broken()
    return StoreUnavailable(store, getattr(exc, "sqlite_errorname", None) or str(exc))


@contextmanager
def sqlite_faults_as_unavailable(store: str, on_broken: Callable[[], None] | None = None) -> Iterator[None]:
    """Turn a transient sqlite3.OperationalError into StoreUnavailable; `on_broken` drops a broken connection."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise as_unavailable(exc, store, on_broken) from exc
