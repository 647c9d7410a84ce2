"""Faults on the Gold connection, which speaks a DB-API driver (pyodbc + SQLite ODBC, or sqlite3), not HTTP.

- `timeout`: real: another connection holds an EXCLUSIVE lock on the Gold file, so the reader's query waits
  on it until GOLD_QUERY_TIMEOUT_SECONDS ends the wait (the driver's own busy timeout).
- `reset`: at the DB-API level: the real connection is closed under the reader just before its statement
  runs, so the driver raises on a dead connection (what a dropped TCP connection to Azure SQL looks like).
- `slow`: at the DB-API level: each statement starts `slow_seconds` late, under the query timeout.
- `429` and `503` have no SQL counterpart: those cells are not applicable.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stores.gold import Connection

GOLD_FAULTS = ("timeout", "reset", "slow")


class GoldFaults:
    def __init__(self, path: Path, slow_seconds: float = 0.3) -> None:
        self.path = path
        self.slow_seconds = slow_seconds
        self.kind: str | None = None
        self.window: float | None = None
        self.until: float | None = None
        self.faulted = 0
        self._lock_conn: sqlite3.Connection | None = None
        self._mutex = threading.Lock()

    def arm_until_cleared(self, kind: str) -> None:
        self._arm(kind, None)

    def arm_window(self, kind: str, seconds: float) -> None:
        """The fault for `seconds` from the first statement (or connection) that meets it."""
        self._arm(kind, seconds)

    def _arm(self, kind: str, window: float | None) -> None:
        with self._mutex:
            self.kind, self.window, self.until, self.faulted = kind, window, None, 0
        if kind == "timeout":
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN EXCLUSIVE")
            self._lock_conn = conn

    def _release_lock(self) -> None:
        with self._mutex:
            conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            conn.execute("ROLLBACK")
            conn.close()

    def clear(self) -> None:
        with self._mutex:
            self.kind = None
        self._release_lock()

    def active(self) -> str | None:
        """The armed fault for this statement; the first one starts a window (and its lock's release)."""
        with self._mutex:
            if self.kind is None:
                return None
            now = time.monotonic()
            if self.window is not None and self.until is None:
                self.until = now + self.window
                if self.kind == "timeout":
                    threading.Timer(self.window, self._release_lock).start()
            if self.until is not None and now >= self.until:
                return None
            return self.kind

    def note(self) -> None:
        with self._mutex:
            self.faulted += 1

    def wrap(self, connect: Callable[[], Connection]) -> Callable[[], Connection]:
        """A connection factory whose connections meet the armed fault."""

        def faulty_connect() -> Connection:
            if self.active() == "timeout":
                self.note()  # opening a connection waits on the lock too
            return _FaultyConnection(connect(), self)

        return faulty_connect


class _FaultyConnection:
    def __init__(self, conn: Connection, faults: GoldFaults) -> None:
        self._conn = conn
        self._faults = faults

    def cursor(self) -> Any:
        return _FaultyCursor(self._conn, self._faults)

    def close(self) -> None:
        self._conn.close()

    def __getattr__(self, name: str) -> Any:  # set_progress_handler and the like reach the real connection
        return getattr(self._conn, name)


class _FaultyCursor:
    def __init__(self, conn: Connection, faults: GoldFaults) -> None:
        self._conn = conn
        self._faults = faults
        self._cursor = conn.cursor()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        kind = self._faults.active()
        if kind == "timeout":
            self._faults.note()  # the lock itself does the rest
        elif kind == "reset":
            self._faults.note()
            self._conn.close()
        elif kind == "slow":
            self._faults.note()
            time.sleep(self._faults.slow_seconds)
        return self._cursor.execute(sql, params)

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()
