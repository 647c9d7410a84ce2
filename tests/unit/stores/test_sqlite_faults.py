"""Which SQLite failures are StoreUnavailable (503 + Retry-After) and which pass through as bugs."""

from __future__ import annotations

import sqlite3

import pytest

from stores.errors import StoreUnavailable
from stores.sqlite_faults import sqlite_faults_as_unavailable


def sqlite_error(kind: type[sqlite3.Error], message: str, code: int, name: str) -> sqlite3.Error:
    """An error as sqlite3 raises it: the extended result code and its name set on the exception."""
    error = kind(message)
    error.sqlite_errorcode = code
    error.sqlite_errorname = name
    return error


# (message, extended code, its name, StoreUnavailable?, connection dropped?)
CASES = [
    ("database is locked", sqlite3.SQLITE_BUSY, "SQLITE_BUSY", True, False),
    ("database is locked", sqlite3.SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT", True, False),
    ("database table is locked", sqlite3.SQLITE_LOCKED, "SQLITE_LOCKED", True, False),
    ("disk I/O error", sqlite3.SQLITE_IOERR_READ, "SQLITE_IOERR_READ", True, True),
    ("disk I/O error", sqlite3.SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC", True, True),
    ("unable to open database file", sqlite3.SQLITE_CANTOPEN, "SQLITE_CANTOPEN", True, True),
    ("database or disk is full", sqlite3.SQLITE_FULL, "SQLITE_FULL", True, False),
    ("interrupted", sqlite3.SQLITE_INTERRUPT, "SQLITE_INTERRUPT", True, False),
    ("no such table: documents", sqlite3.SQLITE_ERROR, "SQLITE_ERROR", False, False),  # a bug: a 500
    ("attempt to write a readonly database", sqlite3.SQLITE_READONLY, "SQLITE_READONLY", False, False),
]


@pytest.mark.parametrize(("message", "code", "name", "unavailable", "dropped"), CASES, ids=[c[2] for c in CASES])
def test_operational_errors(message: str, code: int, name: str, unavailable: bool, dropped: bool) -> None:
    drops: list[bool] = []
    error = sqlite_error(sqlite3.OperationalError, message, code, name)
    expected: type[Exception] = StoreUnavailable if unavailable else sqlite3.OperationalError
    with pytest.raises(expected) as raised, sqlite_faults_as_unavailable("documents", lambda: drops.append(True)):
        raise error
    if unavailable:
        assert isinstance(raised.value, StoreUnavailable)
        assert raised.value.store == "documents" and raised.value.reason == name
        assert raised.value.retry_after_seconds is None and raised.value.__cause__ is error
    else:
        assert raised.value is error
    assert drops == ([True] if dropped else [])


@pytest.mark.parametrize(
    "error",
    [
        sqlite_error(sqlite3.DatabaseError, "database disk image is malformed", sqlite3.SQLITE_CORRUPT, "CORRUPT"),
        sqlite3.ProgrammingError("Cannot operate on a closed database."),
        ValueError("not a store fault"),
    ],
    ids=["corrupt", "closed", "other"],
)
def test_other_errors_pass_through(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, sqlite_faults_as_unavailable("documents"):
        raise error
    assert raised.value is error
