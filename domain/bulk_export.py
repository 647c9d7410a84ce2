"""Export files of a day, a month or a year, for one region or all: which file, and building it once.

The materialization writes the CSV of each region-day and region-month. Every other export (a year, all
regions, any Parquet file) is built on first request from the documents the materialization wrote (never
from Gold) and kept under a name that carries its version: a digest of the content hashes of the documents
it is made of. A request finds the current version from the hashes alone (no bodies); when that file
exists it is served as it is, else it is built and put, then served. So a file is never stale (new data
is a new version), building twice writes the same bytes (idempotent), and a reader never sees a part of a
file: `FileStore.put` publishes whole files only (temp file + rename, or one committed blob).

Parquet files are built from smaller Parquet files, each cached the same way: a region-month from its
day documents, a region-year from its twelve region-months, all regions from each region's file. A day
changed by the materialization rebuilds its month's file from ~30 documents, and the rest by concatenation.

Under load (`BuildGate`): identical requests for a file not built yet share one build (single flight per
versioned name), and a process runs at most so many builds at a time; the API answers the rest 503.
"""

from __future__ import annotations

import calendar
import hashlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from domain.conditional_write import CSV_CONTENT_TYPE
from domain.csv_export import (
    DAY_COLUMNS,
    MONTH_COLUMNS,
    current_header,
    render_day_csv,
    render_days_csv,
    render_month_csv,
    render_months_csv,
)
from domain.naming import day_doc_id, day_file_name, month_doc_id, month_file_name
from domain.ports import Document, DocumentStore, FileStore
from domain.regions import REGIONS

Format = Literal["csv", "parquet"]
FORMATS: Final[tuple[str, ...]] = ("csv", "parquet")
# Part of every version: a change of the rendering (new columns...) makes every cached file a new version.
RENDERING_VERSION: Final[str] = "bulk-v1"
ALL_REGIONS: Final[str] = "all"  # the scope name of the files holding every region
PREFIX: Final[str] = "bulk"  # folder of the versioned files, apart from the materialized ones


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """One export file: its format, its period (YYYY-MM-DD, YYYY-MM or YYYY) and its region (None: all)."""

    fmt: Format
    period: str
    region_code: str | None = None

    @property
    def kind(self) -> Literal["day", "month", "year"]:
        return {10: "day", 7: "month", 4: "year"}[len(self.period)]  # type: ignore[return-value]

    @property
    def scope(self) -> str:
        return self.region_code or ALL_REGIONS

    @property
    def region_codes(self) -> tuple[str, ...]:
        return (self.region_code,) if self.region_code else tuple(r.code for r in REGIONS)

    @property
    def download_name(self) -> str:
        return f"eco2mix_{self.scope}_{self.period}.{self.fmt}"

    def materialized_name(self) -> str | None:
        """The file the materialization writes itself (region-day and region-month CSV), else None."""
        if self.fmt == "csv" and self.region_code is not None and self.kind != "year":
            namer = day_file_name if self.kind == "day" else month_file_name
            return namer(self.region_code, self.period)
        return None


def versioned_name(spec: ExportSpec, version: str) -> str:
    """`bulk/<scope>/<period>/<version>/eco2mix_<scope>_<period>.<fmt>`: the last segment is the download name."""
    return f"{PREFIX}/{spec.scope}/{spec.period}/{version}/{spec.download_name}"


def period_bounds(period: str) -> tuple[str, str]:
    """First and last day of a day, month or year."""
    if len(period) == 10:
        return period, period
    if len(period) == 7:
        year, month = int(period[:4]), int(period[5:7])
        return f"{period}-01", f"{period}-{calendar.monthrange(year, month)[1]:02d}"
    return f"{period}-01-01", f"{period}-12-31"


def months_of(period: str) -> list[str]:
    """The months a month or year covers."""
    return [period] if len(period) == 7 else [f"{period}-{m:02d}" for m in range(1, 13)]


Hashes = list[tuple[str, str]]  # (document id, content hash), as DocumentStore.range_hashes gives them


def version_of(spec: ExportSpec, hashes: Sequence[Hashes]) -> str:
    digest = hashlib.sha256(f"{RENDERING_VERSION}|{spec.fmt}|{spec.scope}|{spec.period}".encode())
    for part in hashes:
        for doc_id, content_hash in part:
            digest.update(f"|{doc_id}={content_hash}".encode())
    return digest.hexdigest()[:20]


def _hashes(doc: Document) -> tuple[str, str]:
    return str(doc["id"]), str(doc.get("content_hash", ""))


T = TypeVar("T")


class BuildInFlight(Exception):
    """Another caller is building this very file: wait on `future` (the build's result, or its exception)."""

    def __init__(self, name: str, future: Future[str | None]) -> None:
        super().__init__(f"{name} is being built")
        self.name = name
        self.future = future


class BuildsBusy(Exception):
    """The process already runs its maximum of builds."""


class BuildGate:
    """Single flight per versioned file name and a cap on builds at a time, for one process.

    A flight is a concurrent.futures.Future: a thread waits on it with `result(timeout)`, a coroutine awaits it
    through `asyncio.wrap_future` (no thread held while it waits), so the gate serves both kinds of caller. The
    caller that finds no flight builds on its own thread; the others get BuildInFlight and wait.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[str | None]] = {}
        self.started = 0  # builds started over the gate's life (what a test or the bench counts)

    @property
    def running(self) -> int:
        return len(self._flights)

    def run(
        self,
        name: str,
        build: Callable[[], str | None],
        max_builds: int,
        before: Callable[[], None] | None = None,
    ) -> str | None:
        """`build()` unless `name` is being built (BuildInFlight) or `max_builds` are running (BuildsBusy).
        `before` runs once this caller is to build, before the build counts (it may refuse by raising)."""
        with self._lock:
            if (flight := self._flights.get(name)) is not None:
                raise BuildInFlight(name, flight)
            if len(self._flights) >= max_builds:
                raise BuildsBusy(f"{len(self._flights)} export builds running (at most {max_builds})")
            if before is not None:
                before()
            future: Future[str | None] = Future()
            future.set_running_or_notify_cancel()  # a waiter that gives up cannot cancel the others' result
            self._flights[name] = future
            self.started += 1
        try:
            result = build()
        except BaseException as exc:
            future.set_exception(exc)  # the waiters fail as the builder does (a store fault: their 503 too)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            with self._lock:
                del self._flights[name]


@dataclass(frozen=True, slots=True)
class _Built:
    name: str
    data: bytes | None  # None: the file already existed (not read back)


def materialized_header(spec: ExportSpec) -> bytes:
    """The first bytes of a materialized day or month CSV of the current rendering (its header line)."""
    return current_header(DAY_COLUMNS if spec.kind == "day" else MONTH_COLUMNS)


class BulkExports:
    """Finds or builds export files over the two ports the materialization writes to."""

    def __init__(
        self,
        documents: DocumentStore,
        files: FileStore,
        gate: BuildGate | None = None,
        max_builds: int = 1,
        before_build: Callable[[], None] | None = None,
    ) -> None:
        """`gate`: the process's single flight (None: build at once, as the bench and the tests of files do);
        `max_builds` the gate's cap; `before_build` runs before this caller builds (the API charges it then)."""
        self.documents = documents
        self.files = files
        self.gate = gate
        self.max_builds = max_builds
        self.before_build = before_build

    def _build_once(self, name: str, build: Callable[[], str | None]) -> str | None:
        """The requested file built through the gate: only the file asked for is gated, not the parts it is
        made of (a build holding the only slot must still build its parts)."""
        if self.gate is None:
            return build()

        def unless_built() -> str | None:  # a flight that ended just before this one began may have put it
            return name if self.files.exists(name) else build()

        return self.gate.run(name, unless_built, self.max_builds, self.before_build)

    def file_for(self, spec: ExportSpec) -> str | None:
        """Name of the file of `spec`, built first when needed; None when there is no data for it."""
        materialized = spec.materialized_name()
        if materialized is not None:
            return self._materialized(spec, materialized)
        if spec.fmt == "csv":
            return self._csv(spec)
        built = self._parquet(spec, want_bytes=False)
        return built.name if built else None

    def _materialized(self, spec: ExportSpec, name: str) -> str | None:
        """A region's day or month CSV as the materialization wrote it; rendered again from its document when
        an older rendering wrote it (the materialization rewrites a file only when its document changes, so
        without this a file of a day that never changes again would keep its old columns)."""
        header = materialized_header(spec)
        head = self.files.read_head(name, len(header))  # the header only: not a whole month's CSV per request
        if head is None:
            return None
        if head == header:
            return name
        assert spec.region_code is not None
        doc_id = (day_doc_id if spec.kind == "day" else month_doc_id)(spec.region_code, spec.period)
        render = render_day_csv if spec.kind == "day" else render_month_csv
        seen: str | None = None
        # Until the document read after the put is the one rendered: a materialization writing this document
        # meanwhile (file, then document) has its own file put again.
        for _ in range(3):
            doc = self.documents.get(spec.region_code, doc_id)
            if doc is None or doc.get("content_hash") == seen:
                break
            self.files.put(name, render(doc), CSV_CONTENT_TYPE)
            seen = doc.get("content_hash")
        return name

    # --- CSV: rendered from documents that are small (day documents of one day, month documents) -----------

    def _csv(self, spec: ExportSpec) -> str | None:
        docs: list[Document | None] = []
        render: Callable[[list[Document]], bytes]
        if spec.kind == "day":
            docs = [self.documents.get(code, day_doc_id(code, spec.period)) for code in spec.region_codes]
            render = render_days_csv
        elif spec.kind == "month":
            docs = [self.documents.get(code, month_doc_id(code, spec.period)) for code in spec.region_codes]
            render = render_months_csv
        else:
            first, last = months_of(spec.period)[0], months_of(spec.period)[-1]
            for code in spec.region_codes:
                docs += self.documents.query_range(code, "month", first, last)
            render = render_months_csv
        return self._put_csv(spec, [d for d in docs if d is not None], render)

    def _put_csv(self, spec: ExportSpec, docs: list[Document], render: Callable[[list[Document]], bytes]) -> str | None:
        if not docs:
            return None
        # Versioned by the documents actually read: the file named V holds exactly the content of V.
        name = versioned_name(spec, version_of(spec, [[_hashes(d) for d in docs]]))
        if self.files.exists(name):
            return name

        def build() -> str:
            self.files.put(name, render(docs), CSV_CONTENT_TYPE)
            return name

        return self._build_once(name, build)

    # --- Parquet: interval rows, built from cached smaller files -----------------------------------------

    def _parquet(self, spec: ExportSpec, *, want_bytes: bool, hashes: Hashes | None = None) -> _Built | None:
        """The file of `spec`, from its parts' files (all regions: each region's; a year: its months), or
        from its day documents (a region's day or month). `hashes`: its days' hashes, when the caller has them."""
        if hashes is None:
            hashes = self._day_hashes(spec)  # the only hash queries: the parts get their share of these
        if not hashes:
            return None
        # Named by the hashes read now; a day rewritten while the parts are built makes a file a little newer
        # than its name says (never older, never partial), and the next request builds the newer version.
        name = versioned_name(spec, version_of(spec, [hashes]))
        if not want_bytes:  # the file asked for: its name only, never its bytes held by the flight
            if self.files.exists(name):
                return _Built(name, None)

            def build() -> str | None:
                built = self._build_parquet(spec, name, hashes)
                return built.name if built else None

            built_name = self._build_once(name, build)
            return _Built(built_name, None) if built_name else None
        if (cached := self.files.read(name)) is not None:
            return _Built(name, cached)
        return self._build_parquet(spec, name, hashes)

    def _build_parquet(self, spec: ExportSpec, name: str, hashes: Hashes) -> _Built | None:
        if spec.region_code is None:
            parts = _split(hashes, lambda region, _: ExportSpec("parquet", spec.period, region))
        elif spec.kind == "year":
            parts = _split(hashes, lambda region, day: ExportSpec("parquet", day[:7], region))
        else:
            return self._parquet_from_documents(spec)
        # pyarrow and pandas (~90 MiB) loaded by the first Parquet build only, not by every process serving CSV
        from domain.parquet_export import CONTENT_TYPE as PARQUET_CONTENT_TYPE
        from domain.parquet_export import concat_parquet

        # A generator: each part is built (or read) when the concatenation reaches it and dropped after, so a
        # build holds one part's bytes at a time, not all 12 (or 144) of them.
        datas = (b.data for part, ph in parts if (b := self._parquet(part, want_bytes=True, hashes=ph)) and b.data)
        data = concat_parquet(datas)
        self.files.put(name, data, PARQUET_CONTENT_TYPE)
        return _Built(name, data)

    def _day_hashes(self, spec: ExportSpec) -> Hashes:
        """(id, hash) of the day documents of `spec`, by region (in REGIONS order) then day."""
        first, last = period_bounds(spec.period)
        return [h for code in spec.region_codes for h in self.documents.range_hashes(code, "day", first, last)]

    def _parquet_from_documents(self, spec: ExportSpec) -> _Built | None:
        """A region-day or region-month, built from its day documents."""
        assert spec.region_code is not None
        first, last = period_bounds(spec.period)
        docs = self.documents.query_range(spec.region_code, "day", first, last)
        if not docs:
            return None
        # The documents may have changed since the hashes were read: the file is named by what it holds.
        name = versioned_name(spec, version_of(spec, [[_hashes(d) for d in docs]]))
        from domain.parquet_export import CONTENT_TYPE as PARQUET_CONTENT_TYPE
        from domain.parquet_export import render_days_parquet

        data = render_days_parquet(docs)
        self.files.put(name, data, PARQUET_CONTENT_TYPE)
        return _Built(name, data)


def _split(hashes: Hashes, part_of: Callable[[str, str], ExportSpec]) -> list[tuple[ExportSpec, Hashes]]:
    """`hashes` grouped by the part each day belongs to (day ids are `region:YYYY-MM-DD`), in order."""
    parts: dict[ExportSpec, Hashes] = {}
    for doc_id, content_hash in hashes:
        region, _, day = doc_id.partition(":")
        parts.setdefault(part_of(region, day), []).append((doc_id, content_hash))
    return list(parts.items())
