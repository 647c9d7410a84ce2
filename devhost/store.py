"""SQLite persistence of instances (history, input, output) and pending work (write-ahead)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devhost import history as h
from devhost.instance import Instance, WorkRow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
  instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,
  input TEXT, output TEXT, custom_status TEXT, created TEXT NOT NULL, updated TEXT NOT NULL,
  parent TEXT, history TEXT NOT NULL, actions TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS work (
  id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT NOT NULL,
  kind TEXT NOT NULL, due REAL, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_work_kind ON work(kind, instance_id);
"""
_COLUMNS = (
    "instance_id", "name", "execution_id", "status", "input", "output", "custom_status", "created", "updated",
    "parent", "history", "actions", "version",
)  # fmt: skip
_CACHED_COLUMNS = ("history", "actions")  # lists, parsed through the cache


class Store:
    """One connection, used from the engine's event-loop thread only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        # (instance_id, column) -> the JSON text last read or written and its parsed list. An orchestration's
        # history grows with every episode (a 10-year backfill: ~3,000 events, MBs of JSON) and every episode
        # and status poll reads it: parsing it each time made the host's CPU grow with the square of the run.
        self._parsed: dict[tuple[str, str], tuple[str, list[Any]]] = {}

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _instance(self, row: tuple[Any, ...], *, cache: bool = True) -> Instance:
        values = dict(zip(_COLUMNS, row, strict=True))
        values["parent"] = json.loads(values["parent"]) if values["parent"] else None
        for column in _CACHED_COLUMNS:
            text = values[column]
            values[column] = self._loads(values["instance_id"], column, text) if cache else json.loads(text)
        return Instance(**values)

    def _loads(self, instance_id: str, column: str, text: str) -> list[Any]:
        """The parsed list of `text`, reused when the text is the one last seen (checked whole, so a write by
        another connection or a rolled-back put is parsed again). A new list: callers may append to it, never
        change its events in place."""
        cached = self._parsed.get((instance_id, column))
        if cached is not None and cached[0] == text:
            return list(cached[1])
        parsed: list[Any] = json.loads(text)
        self._parsed[(instance_id, column)] = (text, list(parsed))
        return parsed

    def _dumps(self, instance_id: str, column: str, items: list[Any]) -> str:
        """JSON text of `items`; when they start with the very objects last read or written, only the new
        tail is serialized and appended to that text (json.dumps' own separators: the same bytes)."""
        cached = self._parsed.get((instance_id, column))
        if cached is not None and cached[1] and len(items) >= len(cached[1]):
            text, known = cached
            if all(a is b for a, b in zip(known, items, strict=False)):
                if len(items) > len(known):  # equal: unchanged (an episode that kept the actions)
                    text = text[:-1] + ", " + json.dumps(items[len(known) :])[1:]
                self._parsed[(instance_id, column)] = (text, list(items))
                return text
        text = json.dumps(items)
        self._parsed[(instance_id, column)] = (text, list(items))
        return text

    def get(self, instance_id: str) -> Instance | None:
        sql = f"SELECT {','.join(_COLUMNS)} FROM instances WHERE instance_id = ?"  # noqa: S608 - fixed columns
        row = self.conn.execute(sql, (instance_id,)).fetchone()
        return self._instance(row) if row else None

    def query(
        self,
        *,
        created_from: str | None = None,
        created_to: str | None = None,
        statuses: list[str] | None = None,
        prefix: str | None = None,
        top: int = 1000,
        after: tuple[str, str] | None = None,
    ) -> list[Instance]:
        """Instances by creation time range, runtime status and instance-id prefix, oldest first;
        `after` (created, instance_id) resumes a listing past the last instance it returned."""
        clauses: list[str] = ["1=1"]
        params: list[str] = []
        if after is not None:
            clauses.append("(created > ? OR (created = ? AND instance_id > ?))")
            params.extend((after[0], after[0], after[1]))
        if created_from:
            clauses.append("created >= ?")
            params.append(h.iso_seconds(h.parse_time(created_from)))
        if created_to:
            clauses.append("created <= ?")
            params.append(h.iso_seconds(h.parse_time(created_to)))
        if statuses:
            clauses.append(f"status IN ({','.join('?' for _ in statuses)})")
            params.extend(statuses)
        if prefix:
            clauses.append("instance_id LIKE ? ESCAPE '\\'")
            params.append(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        where = " AND ".join(clauses)
        sql = f"SELECT {','.join(_COLUMNS)} FROM instances WHERE {where} ORDER BY created, instance_id LIMIT ?"  # noqa: S608 - fixed clauses
        return [self._instance(r, cache=False) for r in self.conn.execute(sql, (*params, top))]  # listings: no cache

    def put(self, conn: sqlite3.Connection, inst: Instance) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                inst.instance_id, inst.name, inst.execution_id, inst.status, inst.input, inst.output,
                inst.custom_status, inst.created, inst.updated, json.dumps(inst.parent) if inst.parent else None,
                self._dumps(inst.instance_id, "history", inst.history),
                self._dumps(inst.instance_id, "actions", inst.actions), inst.version + 1,
            ),
        )  # fmt: skip

    def version(self, instance_id: str) -> int | None:
        row = self.conn.execute("SELECT version FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return int(row[0]) if row else None

    def add_work(
        self,
        conn: sqlite3.Connection,
        instance_id: str,
        execution_id: str,
        kind: str,
        payload: dict[str, Any],
        due: float | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO work (instance_id, execution_id, kind, due, payload) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, kind, due, json.dumps(payload)),
        )

    def work(self, kind: str, instance_id: str | None = None) -> list[WorkRow]:
        sql, params = "SELECT id, instance_id, execution_id, kind, due, payload FROM work WHERE kind = ?", [kind]
        if instance_id is not None:
            sql, params = sql + " AND instance_id = ?", [*params, instance_id]
        rows = self.conn.execute(sql + " ORDER BY id", params).fetchall()
        return [
            WorkRow(id=r[0], instance_id=r[1], execution_id=r[2], kind=r[3], due=r[4], payload=json.loads(r[5]))
            for r in rows
        ]

    def instances_with_inbox(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT instance_id, MIN(id) FROM work WHERE kind = 'inbox' GROUP BY instance_id ORDER BY 2"
        )
        return [r[0] for r in rows]

    def next_timer_due(self) -> float | None:
        row = self.conn.execute("SELECT MIN(due) FROM work WHERE kind = 'timer'").fetchone()
        return row[0]

    def due_timers(self, now: float) -> list[WorkRow]:
        return [r for r in self.work("timer") if r.due is not None and r.due <= now]

    def delete_work(self, conn: sqlite3.Connection, ids: list[int]) -> int:
        deleted = 0
        for work_id in ids:
            deleted += conn.execute("DELETE FROM work WHERE id = ?", (work_id,)).rowcount
        return deleted

    def delete_instance_work(
        self, conn: sqlite3.Connection, instance_id: str, kinds: tuple[str, ...] = ("activity", "timer", "inbox")
    ) -> None:
        marks = ",".join("?" for _ in kinds)
        conn.execute(f"DELETE FROM work WHERE instance_id = ? AND kind IN ({marks})", (instance_id, *kinds))  # noqa: S608

    def delete_instance(self, conn: sqlite3.Connection, instance_id: str) -> int:
        conn.execute("DELETE FROM work WHERE instance_id = ?", (instance_id,))
        for column in _CACHED_COLUMNS:
            self._parsed.pop((instance_id, column), None)
        return conn.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,)).rowcount
