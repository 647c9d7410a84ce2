"""Gold SQL reader over any DB-API connection: sqlite3 (embedded) or pyodbc (ODBC driver, Azure SQL).

One SQL text serves both drivers: qmark parameters, ANSI joins and GROUP BY, no LIMIT/TOP. Values that
drivers type differently (DATETIME2, DATE) are normalised to the text forms of domain.models.GoldRow.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from core.settings import Settings
from domain.local_time import TIMEZONE
from domain.models import GoldRow
from stores.errors import StoreUnavailable

if TYPE_CHECKING:  # numpy and pandas come with the column read: every process builds a reader, few read columns
    import numpy as np

    from domain.gold_columns import GoldColumns

SQL_COPT_SS_ACCESS_TOKEN = 1256  # msodbcsql pre-connect attribute: an Entra ID access token
AZURE_SQL_SCOPE = "https://database.windows.net/.default"
_PARIS = ZoneInfo(TIMEZONE)
STORE_NAME = "gold"
# ODBC SQLSTATEs of a query that may succeed later: timeout expired, connection timeout, link failure.
_TRANSIENT_SQLSTATES = ("HYT00", "HYT01", "08S01")
# sqlite3.OperationalError texts of a lock wait or a query stopped by the progress-handler deadline.
_TRANSIENT_SQLITE = ("database is locked", "database is busy", "interrupted")
_PROGRESS_EVERY_OPS = 10_000
# A query that met a lost connection or a timed-out wait is tried once more, on a fresh connection, after
# this pause; the activity retries on top.
GOLD_ATTEMPTS = 2
GOLD_RETRY_SECONDS = 0.5


class Connection(Protocol):
    """The part of a DB-API 2.0 connection the reader uses (sqlite3 and pyodbc both fit)."""

    def cursor(self) -> Any: ...
    def close(self) -> None: ...


def _sqlite_connect(path: Path, timeout_seconds: int) -> Connection:
    # mode=rw: a missing file is an error, not a silently created empty database. A lock is waited for
    # up to the query timeout; the query itself is bounded by GoldReader's progress-handler deadline.
    conn = sqlite3.connect(path.absolute().as_uri() + "?mode=rw", uri=True, timeout=timeout_seconds)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_seconds * 1000)}")
    return conn


def _odbc_with_timeout(conn: Any, timeout_seconds: int) -> Connection:
    # SQL_ATTR_QUERY_TIMEOUT of every statement on this connection (Azure SQL cancels the query).
    conn.timeout = timeout_seconds
    result: Connection = conn
    return result


def _arm_deadline(conn: Connection, timeout_seconds: int) -> None:
    """sqlite3 has no query timeout: a progress handler interrupts a statement running past the deadline."""
    if isinstance(conn, sqlite3.Connection):
        deadline = time.monotonic() + timeout_seconds
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_EVERY_OPS)


def _as_unavailable(exc: Exception) -> StoreUnavailable | None:
    """StoreUnavailable for a timed-out, locked or cut query; None for any other error (a bug, a bad schema)."""
    text = " ".join(str(a) for a in exc.args).lower()
    if isinstance(exc, sqlite3.OperationalError):
        return StoreUnavailable(STORE_NAME, text) if any(t in text for t in _TRANSIENT_SQLITE) else None
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in text:  # the connection was closed under us
        return StoreUnavailable(STORE_NAME, "connection closed")
    if type(exc).__module__ != "pyodbc":
        return None
    state = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    if state in _TRANSIENT_SQLSTATES or any(
        t in text for t in (*_TRANSIENT_SQLITE, "closed connection", "connection has been closed")
    ):
        return StoreUnavailable(STORE_NAME, f"SQLSTATE {state}")
    return None


def _odbc_string_with_timeout(odbc_string: str, timeout_seconds: int) -> str:
    """The SQLite ODBC driver ignores the statement timeout; its lock wait is the `Timeout` (ms) of the string."""
    if "sqlite" not in odbc_string.lower() or "timeout=" in odbc_string.lower():
        return odbc_string
    return f"{odbc_string.rstrip(';')};Timeout={timeout_seconds * 1000}"


def _access_token_struct(token: str) -> bytes:
    """The ODBC access-token struct: little-endian length, then the UTF-16-LE token bytes."""
    raw = token.encode("utf-16-le")
    return struct.pack(f"<I{len(raw)}s", len(raw), raw)


def azure_sql_connection_string(driver: str, server: str, database: str) -> str:
    host = server if server.startswith("tcp:") else f"tcp:{server},1433"
    return (
        f"Driver={{{driver}}};Server={host};Database={database};"
        "Encrypt=yes;TrustServerCertificate=no;Connection Timeout=30"
    )


def gold_connection_factory(settings: Settings) -> Callable[[], Connection]:
    """A callable opening one Gold connection; nothing is opened (or imported from pyodbc) until called."""
    timeout = settings.GOLD_QUERY_TIMEOUT_SECONDS
    if settings.GOLD_ODBC_CONNECTION_STRING:
        odbc_string = _odbc_string_with_timeout(settings.GOLD_ODBC_CONNECTION_STRING, timeout)

        def connect_odbc() -> Connection:
            import pyodbc

            return _odbc_with_timeout(pyodbc.connect(odbc_string, autocommit=True), timeout)

        return connect_odbc

    if settings.GOLD_SQL_SERVER:
        if not settings.GOLD_SQL_DATABASE:
            raise ValueError("GOLD_SQL_SERVER is set but GOLD_SQL_DATABASE is not")
        conn_string = azure_sql_connection_string(
            settings.GOLD_ODBC_DRIVER, settings.GOLD_SQL_SERVER, settings.GOLD_SQL_DATABASE
        )
        credential_holder: list[Any] = []

        def connect_managed_identity() -> Connection:
            import pyodbc
            from azure.identity import DefaultAzureCredential

            if not credential_holder:  # one credential per factory: it caches and refreshes tokens
                credential_holder.append(DefaultAzureCredential())
            token = credential_holder[0].get_token(AZURE_SQL_SCOPE).token
            conn = pyodbc.connect(
                conn_string,
                attrs_before={SQL_COPT_SS_ACCESS_TOKEN: _access_token_struct(token)},
                autocommit=True,
            )
            return _odbc_with_timeout(conn, timeout)

        return connect_managed_identity

    path = settings.gold_sqlite_path
    return lambda: _sqlite_connect(path, timeout)


def gold_dialect(settings: Settings) -> str:
    """'tsql' for Azure SQL / SQL Server, 'sqlite' for sqlite3 or the SQLite ODBC driver."""
    if settings.GOLD_ODBC_CONNECTION_STRING:
        return "sqlite" if "sqlite" in settings.GOLD_ODBC_CONNECTION_STRING.lower() else "tsql"
    return "tsql" if settings.GOLD_SQL_SERVER else "sqlite"


def gold_reader(settings: Settings) -> GoldReader:
    """The reader for these settings (no connection is opened yet)."""
    return GoldReader(
        gold_connection_factory(settings),
        dialect=gold_dialect(settings),
        query_timeout_seconds=settings.GOLD_QUERY_TIMEOUT_SECONDS,
    )


def _text_instant(value: Any) -> str:
    """horodatage as 'YYYY-MM-DDTHH:MM:SSZ' whatever the driver returned (str or naive UTC datetime)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value).replace(" ", "T")
    return text if text.endswith("Z") else text[:19] + "Z"


def _text_loaded_at(value: Any) -> str:
    """loaded_at as 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (DATETIME2(6) comes back as a datetime from pyodbc)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = str(value).replace(" ", "T").rstrip("Z")
    if "." not in text:
        text += ".000000"
    head, frac = text.split(".", 1)
    return f"{head}.{frac[:6].ljust(6, '0')}Z"


def _text_day(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def local_day_bounds(first_day: str, last_day: str) -> tuple[int, int]:
    """[start, end) of the local days first_day..last_day as epoch minutes (id_date), DST-aware."""
    start = datetime.combine(date.fromisoformat(first_day), datetime.min.time(), _PARIS)
    end = datetime.combine(date.fromisoformat(last_day) + timedelta(days=1), datetime.min.time(), _PARIS)
    return int(start.timestamp()) // 60, int(end.timestamp()) // 60


def _partitions_sql(fact_filter: str) -> str:
    """(region, local day, max loaded_at) over the facts matching `fact_filter` (a constant WHERE clause).

    Grouping by (id_region, id_date) first follows the primary key (no sort) and leaves ~1/9 of the rows
    to join with the dimensions: about 4x faster than grouping the joined facts directly.
    """
    return fact_filter.join(_PARTITIONS_AROUND_FILTER)


_PARTITIONS_AROUND_FILTER = (
    "SELECT r.code_insee, t.date_locale, MAX(x.max_loaded_at) "
    "FROM (SELECT id_region, id_date, MAX(loaded_at) AS max_loaded_at FROM FACT_ENERGY_FLOW ",
    " GROUP BY id_region, id_date) x "
    "JOIN DIM_REGION r ON r.id_region = x.id_region "
    "JOIN DIM_TIME t ON t.id_date = x.id_date "
    "GROUP BY r.code_insee, t.date_locale ORDER BY r.code_insee, t.date_locale",
)

# Since a watermark: the same, grouped by expressions (`+ 0`) that the primary key's order cannot serve, so
# SQLite finds the few facts loaded after the watermark through IX_FACT_loaded_at instead of scanning every
# fact in key order to skip the sort (1-year sample: ~90 ms -> ~3 ms for a 1-day change; a change of every
# fact costs ~2x the scan instead, once).
_CHANGED_SINCE_SQL = (
    "SELECT r.code_insee, t.date_locale, MAX(x.max_loaded_at) "
    "FROM (SELECT id_region + 0 AS id_region, id_date + 0 AS id_date, MAX(loaded_at) AS max_loaded_at "
    "FROM FACT_ENERGY_FLOW WHERE loaded_at > ? GROUP BY id_region + 0, id_date + 0) x "
    "JOIN DIM_REGION r ON r.id_region = x.id_region "
    "JOIN DIM_TIME t ON t.id_date = x.id_date "
    "GROUP BY r.code_insee, t.date_locale ORDER BY r.code_insee, t.date_locale"
)

_ROWS_SQL = (
    "SELECT t.horodatage, t.date_locale, s.source_name, f.valeur_mw, f.facteur_charge, f.loaded_at, f.nature "
    "FROM FACT_ENERGY_FLOW f "
    "JOIN DIM_REGION r ON r.id_region = f.id_region "
    "JOIN DIM_TIME t ON t.id_date = f.id_date "
    "JOIN DIM_SOURCE s ON s.id_source = f.id_source "
    "WHERE r.code_insee = ? AND f.id_date >= ? AND f.id_date < ? "
    "ORDER BY f.id_date, f.id_source"
)
# The same facts for the column reader, without the joins: ids instead of the dimensions' texts (a few
# Python objects less per fact: the read's cost is building them), named from the dimensions read after.
_FACT_COLUMNS_SQL = (
    "SELECT f.id_date, f.id_source, f.valeur_mw, f.facteur_charge, f.loaded_at, f.nature "
    "FROM FACT_ENERGY_FLOW f "
    "WHERE f.id_region = (SELECT r.id_region FROM DIM_REGION r WHERE r.code_insee = ?) "
    "AND f.id_date >= ? AND f.id_date < ? "
    "ORDER BY f.id_date, f.id_source"
)
_TIME_DAYS_SQL = "SELECT id_date, date_locale FROM DIM_TIME WHERE id_date >= ? AND id_date < ? ORDER BY id_date"
_SOURCE_NAMES_SQL = "SELECT id_source, source_name FROM DIM_SOURCE"


def _distinct_mapped(values: Sequence[Any], to_text: Callable[[Any], str]) -> np.ndarray:
    """`to_text` of each value, computed once per distinct value (days, load times and natures repeat)."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return np.array([to_text(u) for u in uniques] or [""], dtype=object)[codes]


def _named(ids: np.ndarray, dimension: Sequence[Any], to_text: Callable[[Any], str]) -> tuple[np.ndarray, np.ndarray]:
    """(text of each id, whether the dimension has it) from a dimension's (id, value) rows."""
    import numpy as np

    if not dimension:
        return np.full(len(ids), "", dtype=object), np.zeros(len(ids), dtype=bool)
    known = np.array([int(i) for i, _ in dimension], dtype=np.int64)
    order = np.argsort(known, kind="stable")
    known = known[order]
    texts = np.array([to_text(v) for _, v in dimension], dtype=object)[order]
    at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    return texts[at], known[at] == ids


class GoldReader:
    """Read-only queries the materializer needs. One connection per thread, reopened after a failure.

    A query that times out, waits on a lock past the timeout or loses its connection is tried once more on a
    fresh connection, then raises StoreUnavailable.
    """

    def __init__(
        self, connect: Callable[[], Connection], *, dialect: str = "sqlite", query_timeout_seconds: int = 300
    ) -> None:
        self._connect = connect
        self._dialect = dialect
        self._timeout = query_timeout_seconds
        self._local = threading.local()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement; a lost connection or a timed-out wait is retried once on a fresh connection."""
        for attempt in range(1, GOLD_ATTEMPTS + 1):
            try:
                return self._query_once(sql, params)
            except StoreUnavailable:
                if attempt == GOLD_ATTEMPTS:
                    raise
                time.sleep(GOLD_RETRY_SECONDS)
        raise AssertionError("unreachable")

    def _query_once(self, sql: str, params: Sequence[Any]) -> list[Any]:
        conn: Connection | None = getattr(self._local, "conn", None)
        try:
            if conn is None:
                conn = self._connect()
                self._local.conn = conn
            _arm_deadline(conn, self._timeout)
            cur = conn.cursor()
            try:
                cur.execute(sql, tuple(params))
                return list(cur.fetchall())
            finally:
                cur.close()
        except Exception as exc:
            # A broken connection must not poison this thread forever: drop it, the next call reconnects.
            self._local.conn = None
            if conn is not None:
                with contextlib.suppress(Exception):  # closing a broken connection may fail too; keep the first error
                    conn.close()
            unavailable = _as_unavailable(exc)
            if unavailable is not None:
                raise unavailable from exc
            raise

    def close(self) -> None:
        """Close this thread's connection (others close with their threads' garbage collection)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    @staticmethod
    def _partitions(rows: list[Any]) -> list[tuple[str, str, str]]:
        return [(str(code), _text_day(day), _text_loaded_at(loaded)) for code, day, loaded in rows]

    def changed_partitions(self, since: str | None) -> list[tuple[str, str, str]]:
        """(region_code, local_day, max loaded_at) of partitions with a row loaded after `since` (all if None).

        The incremental plan passes the watermark minus its overlap window (domain.materialization.reread_since),
        computed in Python: the one SQL text compares to a parameter on SQLite and T-SQL alike."""
        if since is None:
            return self._partitions(self._query(_partitions_sql("")))
        sql = _CHANGED_SINCE_SQL
        return self._partitions(self._query(sql, [self._loaded_at_param(since)]))

    def _loaded_at_param(self, since: str) -> Any:
        # SQLite stores loaded_at as text and compares text; SQL Server compares DATETIME2, whose string
        # conversion rejects the trailing Z, so it gets a naive UTC datetime instead.
        if self._dialect == "tsql":
            return datetime.strptime(_text_loaded_at(since), "%Y-%m-%dT%H:%M:%S.%fZ")
        return _text_loaded_at(since)

    def partitions_in_range(
        self, first_day: str, last_day: str, region_codes: list[str] | None
    ) -> list[tuple[str, str, str]]:
        """Every (region_code, local_day, max loaded_at) with data in [first_day, last_day] (for backfills)."""
        start, end = local_day_bounds(first_day, last_day)
        where = "WHERE id_date >= ? AND id_date < ?"
        params: list[Any] = [start, end]
        if region_codes is not None:
            if not region_codes:
                return []
            placeholders = ", ".join("?" for _ in region_codes)  # one ? per code: still parameterized
            where += f" AND id_region IN (SELECT id_region FROM DIM_REGION WHERE code_insee IN ({placeholders}))"  # noqa: S608
            params.extend(region_codes)
        return self._partitions(self._query(_partitions_sql(where), params))

    def region_rows(self, region_code: str, first_day: str, last_day: str) -> list[GoldRow]:
        """Every row of the region whose local day is in [first_day, last_day], by instant then source."""
        start, end = local_day_bounds(first_day, last_day)
        return [
            GoldRow(
                _text_instant(instant),
                _text_day(day),
                str(source),
                _float_or_none(value),
                _float_or_none(load_factor),
                _text_loaded_at(loaded),
                str(nature),
            )
            for instant, day, source, value, load_factor, loaded, nature in self._query(
                _ROWS_SQL, [region_code, start, end]
            )
        ]

    def region_columns(self, region_code: str, first_day: str, last_day: str) -> GoldColumns:
        """`region_rows` as columns, without a tuple or a parsed instant per fact (the materialization's read).

        The facts come with their dimension ids; the days and source names are read after them (an import
        writes dimensions before facts, so every id read is there) and given per distinct id. A fact whose
        id has no dimension row is left out, as the joins of `region_rows` leave it out."""
        import numpy as np

        from domain.gold_columns import GoldColumns

        start, end = local_day_bounds(first_day, last_day)
        rows = self._query(_FACT_COLUMNS_SQL, [region_code, start, end])
        if not rows:
            return GoldColumns.empty()
        id_dates, id_sources, values, load_factors, loaded, natures = zip(*rows, strict=True)
        minutes = np.fromiter(id_dates, dtype=np.int64, count=len(rows))
        days, has_day = _named(minutes, self._query(_TIME_DAYS_SQL, [start, end]), _text_day)
        sources, has_source = _named(
            np.fromiter(id_sources, dtype=np.int64, count=len(rows)), self._query(_SOURCE_NAMES_SQL), str
        )
        columns = GoldColumns(
            minutes=minutes,
            date_locale=days,
            source_name=sources,
            valeur_mw=np.array(values, dtype="float64"),  # None → NaN
            facteur_charge=np.array(load_factors, dtype="float64"),
            loaded_at=_distinct_mapped(loaded, _text_loaded_at),
            nature=_distinct_mapped(natures, str),
        )
        joined = has_day & has_source
        return columns if joined.all() else columns.take(joined)

    def max_loaded_at(self) -> str | None:
        rows = self._query("SELECT MAX(loaded_at) FROM FACT_ENERGY_FLOW")
        value = rows[0][0] if rows else None
        return None if value is None else _text_loaded_at(value)

    def ping(self) -> None:
        """Raise when Gold cannot be reached or has no schema."""
        self._query("SELECT COUNT(*) FROM DIM_SOURCE")

    def regions(self) -> list[tuple[str, str]]:
        """(code_insee, nom_region) of every region in DIM_REGION, by code."""
        return [
            (str(c), str(n))
            for c, n in self._query("SELECT code_insee, nom_region FROM DIM_REGION ORDER BY code_insee")
        ]
