"""The fault matrix: every fault on every store, for the API's reads and for the materialization.

Real connections throughout: the app's own store adapters (azure-cosmos, azure-storage-blob, pyodbc with the
SQLite ODBC driver, else sqlite3) talk to the emulators through a FaultProxy each; Gold faults are injected
as tests/faults/gold_faults.py says. Reads go through the API's envelope and route handlers in this process
with the worker's read stores, both ways: `respond` with the real handler from a thread (the sync clients), and
the async trigger itself on an event loop (the aio clients awaited there).

A read cell passes when, on both paths, with the fault on until cleared, the read answers 503 problem+json with a
Retry-After within the read deadline, and, once cleared, answers again what it answered before the fault;
with the fault on a single request only, the client's retry absorbs it (but for a Blob 429, see read_cell).
A materialize cell passes when:
- under the fault until cleared: the run fails (or, for a slow Gold, completes), the proxy saw the fault
  hit more than once (the clients and the activity retry), the watermark did not advance, and nothing
  half-written is stored (every document equals the fault-free run's, with its CSV file whole beside it);
- under the fault for a short window: the run completes, or fails as above;
- the next run without the fault completes, and documents and files equal a run without faults.

Stores and operations run in parallel lanes, each with its own proxies and Gold file, so a fault armed in
one lane never reaches another; the cells of one lane run one after the other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.cosmos import CosmosClient
from azure.cosmos.exceptions import CosmosResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from core.settings import Settings
from devhost.testing import ApiKeys
from domain import materialization
from domain.change_feed import CHANGES_PARTITION
from domain.naming import WATERMARK_DOC_ID, day_file_name, month_file_name
from domain.revisions import ANNOUNCED_DOC_TYPE
from domain.revisions import DOC_TYPE as REVISIONS_DOC_TYPE
from domain.run_outcome import RUNS_DOC_ID
from orchestrations.materialize import BATCH_RETRY
from stores.call_policy import Caller, call_policy
from stores.documents_cosmos import document_of
from stores.factory import Stores, build_documents, build_files, build_reads, reset_stores
from stores.gold import GoldReader, gold_connection_factory, gold_dialect
from stores.ports import SYSTEM_PARTITION
from tests.faults.gold_faults import GOLD_FAULTS, GoldFaults
from tests.faults.proxy import FAULT_KINDS, FaultProxy
from tests.integration.emulators import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    SELF_SIGNED_CERT,
    SELF_SIGNED_KEY,
    Azurite,
    CosmosServer,
    start_azurite,
    start_cosmos,
)
from tests.unit.stores.test_gold import SMALL_GOLD, build_small_gold

log = logging.getLogger(__name__)

STORES = ("documents", "files", "gold")
BACKENDS = {"documents": "cosmosdb-server", "files": "Azurite", "gold": "Gold SQL"}
OPERATIONS = ("read", "materialize")
# One lane per store and operation (the API never reads Gold): its own proxies and Gold file.
LANES = [(s, o) for s in STORES for o in OPERATIONS if (s, o) != ("gold", "read")]
DATABASE = "faults"
BASELINE = "baseline"
# Short timeouts keep the whole matrix quick; the code paths are those of the defaults. A read attempt gets
# 1 s (still under the proxy's 1.5 s `slow`): at 0.5 s a loaded CI machine's retry attempt (a fresh aio client
# and connection for the cell's event loop, Azurite on the same cores) sometimes timed out as well.
SHORT_SETTINGS: dict[str, Any] = {
    # The read cells read the same day before, during and after the fault: the store path, not the instance
    # cache in front of Cosmos DB, which would answer the last two from memory.
    "DOCUMENT_CACHE_MIB": 0,
    "STORE_READ_TIMEOUT_SECONDS": 1.0,
    "STORE_READ_ATTEMPTS": 2,
    "STORE_READ_THROTTLE_WAIT_SECONDS": 1,
    "STORE_RETRY_AFTER_SECONDS": 2,
    "STORE_BATCH_TIMEOUT_SECONDS": 0.5,
    "STORE_BATCH_ATTEMPTS": 2,
    "STORE_BATCH_THROTTLE_WAIT_SECONDS": 1,
    "GOLD_QUERY_TIMEOUT_SECONDS": 1,
}
# The orchestrator's retry of a batch activity (attempts as deployed, interval shortened from 5 s).
ACTIVITY_ATTEMPTS = BATCH_RETRY.max_number_of_attempts
ACTIVITY_RETRY_SECONDS = 0.2
WINDOW_SECONDS = 0.5
# A read answers within its policy's deadline; this margin covers the envelope and the proxy.
READ_MARGIN_SECONDS = 1.0
DAY = ("11", "2024-03-31")  # a materialized day of SMALL_GOLD
READER_KEY = "faults-reader-" + secrets.token_hex(8)
# Each read cell calls the async trigger on an event loop (the aio client awaited there).
READ_PATHS = ("await",)


RUN_TIMES = ("updated_at", "instance_id")  # the `runs` record's fields that differ between two equal runs


def _announcements_comparable(docs: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The changes feed and the revision histories as what they must state whatever the faults: which content
    each document was announced with (a retried batch may announce it again; page order and times vary by run),
    and the latest version of each history. Everything else as read."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    announced: set[tuple[str, str, str, str]] = set()
    for key, doc in docs.items():
        if key[0] == CHANGES_PARTITION:
            for e in doc.get("entries", []):
                announced.add((e["region"], e["kind"], e["key"], e["content_hash"]))
        elif doc.get("doc_type") == REVISIONS_DOC_TYPE:
            out[key] = {doc["key"]: doc["versions"][-1]["content_hash"]}
        elif doc.get("doc_type") == ANNOUNCED_DOC_TYPE:  # its generation counts writes, which retries vary
            out[key] = dict(doc["hashes"])
        else:
            out[key] = doc
    if announced:
        out[(CHANGES_PARTITION, "announced")] = {"entries": sorted(announced)}
    return out


@dataclass
class Cell:
    store: str
    fault: str
    operation: str
    passed: bool | None  # None: not applicable
    detail: str = ""
    seconds: float = 0.0

    @property
    def mark(self) -> str:
        return "n/a" if self.passed is None else ("pass" if self.passed else "FAIL")


@dataclass(frozen=True)
class Snapshot:
    documents: dict[tuple[str, str], dict[str, Any]]
    files: dict[str, bytes]


@dataclass
class Lane:
    """One store's fault lane: its own proxies and Gold file; `store` is the one that gets the faults."""

    store: str
    cosmos: FaultProxy
    blob: FaultProxy
    gold: GoldFaults
    lab: FaultLab

    def injector(self) -> FaultProxy | GoldFaults:
        if self.store == "documents":
            return self.cosmos
        return self.blob if self.store == "files" else self.gold

    def settings(self, container: str) -> Settings:
        gold: dict[str, Any] = {"GOLD_SQLITE_PATH": self.gold.path}
        if self.lab.odbc_driver:
            gold = {"GOLD_ODBC_CONNECTION_STRING": f"Driver={self.lab.odbc_driver};Database={self.gold.path}"}
        return Settings(
            DATA_DIR=self.lab.workdir,
            COSMOS_ENDPOINT=self.cosmos.url + "/",
            COSMOS_KEY=self.lab.cosmos_server.key,
            COSMOS_VERIFY_TLS=False,
            COSMOS_DATABASE=DATABASE,
            COSMOS_CONTAINER=container,
            BLOB_CONNECTION_STRING=blob_connection_string(self.blob.url),
            BLOB_CONTAINER=container,
            **gold,
            **SHORT_SETTINGS,
        )

    def batch_stores(self, container: str) -> Stores:
        """The materialization's stores through this lane's proxies; Gold connections meet the Gold faults."""
        settings = self.settings(container)
        gold = GoldReader(
            self.gold.wrap(gold_connection_factory(settings)),
            dialect=gold_dialect(settings),
            query_timeout_seconds=settings.GOLD_QUERY_TIMEOUT_SECONDS,
        )
        documents, files = build_documents(settings, Caller.batch), build_files(settings, Caller.batch)
        return Stores(gold, documents, files, *build_reads(settings, documents, files, Caller.batch))


def blob_connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


def odbc_driver() -> str | None:
    try:
        import pyodbc
    except ImportError:
        return None
    return "SQLite3" if "SQLite3" in pyodbc.drivers() else None


def run_materialization(stores: Stores) -> str | None:
    """One incremental run as the orchestrator makes it (plan, batches with the activity retry, commit);
    None when it completed, else why it failed."""
    try:
        plan = materialization.plan(stores.gold, stores.documents, {"mode": "incremental"}, 24)
        results = []
        for batch in plan["batches"]:
            for attempt in range(1, ACTIVITY_ATTEMPTS + 1):
                try:
                    results.append(
                        materialization.materialize_batch(stores.gold, stores.documents, stores.files, batch)
                    )
                    break
                except Exception:
                    if attempt == ACTIVITY_ATTEMPTS:
                        raise
                    time.sleep(ACTIVITY_RETRY_SECONDS)
        materialization.commit(stores.documents, {**plan, "batches": []}, results)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return None


class FaultLab:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.odbc_driver = odbc_driver()
        self.cosmos_server: CosmosServer
        self.azurite: Azurite
        self.lanes: dict[tuple[str, str], Lane] = {}
        self.baseline: Snapshot | None = None
        self._direct_cosmos: CosmosClient | None = None
        self._direct_blob: BlobServiceClient | None = None
        self._counter = 0

    # -- setup -----------------------------------------------------------------------------------------

    def start(self) -> FaultLab:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cosmos_server = start_cosmos(self.workdir / "cosmos")
        self.azurite = start_azurite(self.workdir / "azurite")
        gold_template = build_small_gold(self.workdir / "gold-template.sqlite", SMALL_GOLD)
        for store, operation in LANES:
            gold_path = self.workdir / f"gold-{store}-{operation}.sqlite"
            shutil.copyfile(gold_template, gold_path)
            cosmos = FaultProxy(self.cosmos_server.endpoint, tls=True, cert=SELF_SIGNED_CERT, key=SELF_SIGNED_KEY)
            blob = FaultProxy(self.azurite.blob_endpoint.rsplit("/", 1)[0])
            self.lanes[(store, operation)] = Lane(store, cosmos.start(), blob.start(), GoldFaults(gold_path), self)
        self._direct_cosmos = CosmosClient(
            self.cosmos_server.endpoint, credential=self.cosmos_server.key, connection_verify=False
        )
        self._direct_blob = BlobServiceClient.from_connection_string(self.azurite.connection_string)
        failure = run_materialization(self.lanes[("documents", "materialize")].batch_stores(BASELINE))
        if failure:
            raise RuntimeError(f"the fault-free run failed: {failure}")
        self.baseline = self.snapshot(BASELINE)
        if not self.baseline.documents or not self.baseline.files:
            raise RuntimeError("the fault-free run wrote nothing: the matrix would prove nothing")
        return self

    def stop(self) -> None:
        for lane in self.lanes.values():
            lane.gold.clear()
            lane.cosmos.stop()
            lane.blob.stop()
        for emulator in (getattr(self, "cosmos_server", None), getattr(self, "azurite", None)):
            if emulator is not None:
                emulator.stop()

    def fresh_container(self, store: str, fault: str, phase: str) -> str:
        self._counter += 1
        return f"m{self._counter}-{store}-{fault}-{phase}".lower()

    # -- observations ----------------------------------------------------------------------------------

    def snapshot(self, container: str) -> Snapshot:
        """Every document and file of `container`, read directly from the emulators (no proxy)."""
        assert self._direct_cosmos is not None and self._direct_blob is not None
        docs: dict[tuple[str, str], dict[str, Any]] = {}
        try:
            items = (
                self._direct_cosmos.get_database_client(DATABASE)
                .get_container_client(container)
                .query_items("SELECT * FROM c", enable_cross_partition_query=True)
            )
            for item in items:
                docs[(item["region_code"], item["id"])] = document_of(item)
        except CosmosResourceNotFoundError:
            pass
        docs = _announcements_comparable(docs)
        runs = docs.get((SYSTEM_PARTITION, RUNS_DOC_ID))
        if runs is not None:  # when and by which instance a run ended: what it says of the outcome is compared
            docs[(SYSTEM_PARTITION, RUNS_DOC_ID)] = {k: v for k, v in runs.items() if k not in RUN_TIMES}
        files: dict[str, bytes] = {}
        blobs = self._direct_blob.get_container_client(container)
        if blobs.exists():
            for blob in blobs.list_blobs():
                files[blob.name] = blobs.get_blob_client(blob.name).download_blob().readall()
        return Snapshot(docs, files)

    def half_written(self, snap: Snapshot) -> list[str]:
        """What a reader could be served that the fault-free run would not have served."""
        assert self.baseline is not None
        problems = []
        for key, doc in snap.documents.items():
            if key[0] in (SYSTEM_PARTITION, CHANGES_PARTITION):
                continue
            if key[1].endswith((":revisions", ":announced")):  # so far: each version it holds is the fault-free one
                base = self.baseline.documents.get(key) or {}
                if any(base.get(k) != h for k, h in doc.items()):
                    problems.append(f"history {key} holds a version the fault-free run did not write")
                continue
            if doc != self.baseline.documents.get(key):
                problems.append(f"document {key} differs from the fault-free run")
            name = _file_of(doc)
            if name is not None and snap.files.get(name) != self.baseline.files.get(name):
                problems.append(f"document {key} without its whole file {name}")
        for name, data in snap.files.items():
            if data != self.baseline.files.get(name):
                problems.append(f"file {name} differs from the fault-free run")
        return problems

    def differences(self, snap: Snapshot) -> list[str]:
        assert self.baseline is not None
        base = self.baseline
        problems = [
            f"document {k} missing or different" for k in base.documents if snap.documents.get(k) != base.documents[k]
        ]
        problems += [f"extra document {k}" for k in snap.documents.keys() - base.documents.keys()]
        problems += [f"file {n} missing or different" for n in base.files if snap.files.get(n) != base.files[n]]
        problems += [f"extra file {n}" for n in snap.files.keys() - base.files.keys()]
        return problems

    # -- reads -----------------------------------------------------------------------------------------

    @contextmanager
    def read_environment(self) -> Iterator[None]:
        """The worker's settings for the API reads: documents through the documents lane's Cosmos proxy,
        files through the files lane's Blob proxy, both on the fault-free run's containers."""
        settings = {
            "DATA_DIR": str(self.workdir),
            "COSMOS_ENDPOINT": self.lanes[("documents", "read")].cosmos.url + "/",
            "COSMOS_KEY": self.cosmos_server.key,
            "COSMOS_VERIFY_TLS": "false",
            "COSMOS_DATABASE": DATABASE,
            "COSMOS_CONTAINER": BASELINE,
            "BLOB_CONNECTION_STRING": blob_connection_string(self.lanes[("files", "read")].blob.url),
            "BLOB_CONTAINER": BASELINE,
            "API_KEYS": ApiKeys(reader=READER_KEY, operator=secrets.token_urlsafe(24)).env_value,
            **{k: str(v) for k, v in SHORT_SETTINGS.items()},
        }
        saved = {k: os.environ.get(k) for k in settings}
        os.environ.update(settings)
        reset_stores()
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            reset_stores()

    def read_deadline(self) -> float:
        return call_policy(Settings(**SHORT_SETTINGS), Caller.reads).deadline_seconds + READ_MARGIN_SECONDS

    def read_cell(self, store: str, fault: str) -> Cell:
        """The cell of one store's reads: the async trigger on an event loop (the aio client awaited on it)."""
        if store == "gold":
            return Cell(store, fault, "read", None, "the API never reads Gold")
        problems: list[str] = []
        details: list[str] = []
        elapsed = 0.0
        with asyncio.Runner() as runner:  # one loop for the lane's async reads: its aio client is built once
            try:
                for path in READ_PATHS:
                    path_problems, detail, took = self._read_path_cell(store, fault, api_read(store, path, runner))
                    problems += [f"{path}: {p}" for p in path_problems]
                    details.append(f"{path}: {detail}")
                    elapsed += took
            finally:
                runner.run(_close_async_clients(store))
        return Cell(store, fault, "read", not problems, "; ".join(problems) or " | ".join(details), elapsed)

    def _read_path_cell(
        self, store: str, fault: str, read: Callable[[], func.HttpResponse]
    ) -> tuple[list[str], str, float]:
        injector = self.lanes[(store, "read")].injector()
        assert isinstance(injector, FaultProxy)
        before = read()
        if before.status_code not in (200, 302):
            return [f"no fault, yet {before.status_code}"], "", 0.0
        injector.arm_until_cleared(fault)  # type: ignore[arg-type]
        started = time.monotonic()
        try:
            during = read()
        finally:
            elapsed = time.monotonic() - started
            injector.clear()
        after = read()
        problems = []
        if during.status_code != 503:
            problems.append(f"under the fault: {during.status_code}, not 503")
        if not during.headers.get("Content-Type", "").startswith("application/problem+json"):
            problems.append("under the fault: not problem+json")
        if not during.headers.get("Retry-After", "").isdigit():
            problems.append("under the fault: no Retry-After")
        if elapsed > self.read_deadline():
            problems.append(f"answered after {elapsed:.2f} s > {self.read_deadline():.2f} s")
        if injector.faulted < 1:
            problems.append("the fault was never hit")
        if (after.status_code, _served(after)) != (before.status_code, _served(before)):
            problems.append(f"after the fault: {after.status_code}, not what it served before")
        # One faulted request: the client's second attempt absorbs it, except a Blob 429 (the Storage SDK
        # retries 408 and 5xx only; Blob Storage throttles with 503), which is a 503 at once.
        injector.arm_requests(fault, 1)  # type: ignore[arg-type]
        try:
            single = read()
        finally:
            injector.clear()
        expected_single = 503 if (store, fault) == ("files", "429") else before.status_code
        if single.status_code != expected_single:
            problems.append(f"one faulted request: {single.status_code}, not {expected_single}")
        detail = (
            f"503 in {elapsed:.2f} s, Retry-After {during.headers.get('Retry-After')}; then {after.status_code}; "
            f"one faulted request: {single.status_code}"
        )
        return problems, detail, elapsed

    # -- materializations ------------------------------------------------------------------------------

    def materialize_cell(self, store: str, fault: str) -> Cell:
        if store == "gold" and fault not in GOLD_FAULTS:
            return Cell(store, fault, "materialize", None, "no SQL counterpart of an HTTP status")
        lane = self.lanes[(store, "materialize")]
        injector = lane.injector()
        started = time.monotonic()
        problems: list[str] = []
        notes: list[str] = []
        for phase in ("until-cleared", "window"):
            container = self.fresh_container(store, fault, phase)
            stores = lane.batch_stores(container)
            if phase == "window":
                injector.arm_window(fault, WINDOW_SECONDS)  # type: ignore[arg-type]
            else:
                injector.arm_until_cleared(fault)  # type: ignore[arg-type]
            try:
                failure = run_materialization(stores)
            finally:
                hits = injector.faulted
                injector.clear()
            must_fail = phase == "until-cleared" and not (store == "gold" and fault == "slow")
            # Retried: a run that completed past a faulted call retried it; a failed run tried at least twice.
            if hits < (1 if failure is None else 2):
                problems.append(f"{phase}: the fault was hit {hits} time(s): no retry seen")
            if must_fail and failure is None:
                problems.append(f"{phase}: completed under the fault")
            snap = self.snapshot(container)
            if failure is not None:
                if (SYSTEM_PARTITION, WATERMARK_DOC_ID) in snap.documents:
                    problems.append(f"{phase}: the watermark advanced on a failed run")
                problems += [f"{phase}: {p}" for p in self.half_written(snap)]
            else:
                problems += [f"{phase}: {p}" for p in self.differences(snap)]
            rerun = run_materialization(lane.batch_stores(container))
            if rerun is not None:
                problems.append(f"{phase}: the next run failed: {rerun}")
            problems += [f"{phase} then rerun: {p}" for p in self.differences(self.snapshot(container))]
            notes.append(f"{phase}: {'failed' if failure else 'completed'} after {hits} faulted calls")
        elapsed = time.monotonic() - started
        return Cell(store, fault, "materialize", not problems, "; ".join(problems[:4]) or "; ".join(notes), elapsed)

    # -- the matrix ------------------------------------------------------------------------------------

    def lane_cells(self, lane: tuple[str, str]) -> list[Cell]:
        store, operation = lane
        check = self.read_cell if operation == "read" else self.materialize_cell
        return [_guarded(check, store, fault, operation) for fault in FAULT_KINDS]

    def run(self) -> list[Cell]:
        with self.read_environment(), ThreadPoolExecutor(len(LANES), thread_name_prefix="lane") as pool:
            lanes = list(pool.map(self.lane_cells, LANES))
        cells = [cell for cells in lanes for cell in cells]
        cells += [self.read_cell("gold", fault) for fault in FAULT_KINDS]
        return cells


def _guarded(check: Callable[[str, str], Cell], store: str, fault: str, operation: str) -> Cell:
    try:
        return check(store, fault)
    except Exception as exc:
        log.exception("cell %s %s %s crashed", store, fault, operation)
        return Cell(store, fault, operation, False, f"crashed: {type(exc).__name__}: {exc}")


def _file_of(doc: dict[str, Any]) -> str | None:
    if doc.get("doc_type") == "day":
        return day_file_name(doc["region_code"], doc["date"])
    if doc.get("doc_type") == "month":
        return month_file_name(doc["region_code"], doc["month"])
    return None


def _served(resp: func.HttpResponse) -> Any:
    """What a client gets: the day document, or the file a redirect points at (its name, not the signature)."""
    if resp.status_code == 302:
        return resp.headers["Location"].split("?", 1)[0]
    return json.loads(resp.get_body())


def api_read(store: str, path: str = "await", runner: asyncio.Runner | None = None) -> Callable[[], func.HttpResponse]:
    """The route that reads `store`: a day document (documents) or a day's CSV link (files), its async trigger
    run on `runner`'s loop (the aio client awaited there; a loop of its own without one)."""
    from api import export, production

    headers = {"X-API-Key": READER_KEY}
    region, day = DAY
    if store == "documents":
        url = f"http://127.0.0.1/v1/production/regional/{region}/{day}"
        route_params = {"region_code": region, "date": day}

        def request() -> func.HttpRequest:
            return func.HttpRequest("GET", url, headers=headers, route_params=route_params, body=b"")

        trigger = production.production_day
    else:
        params = {"region_code": region, "date": day}

        def request() -> func.HttpRequest:
            return func.HttpRequest("GET", "http://127.0.0.1/v1/export/csv", headers=headers, params=params, body=b"")

        trigger = export.export_csv
    if runner is None:
        return lambda: asyncio.run(trigger(request()))
    return lambda: runner.run(trigger(request()))


async def _close_async_clients(store: str) -> None:
    """Close the aio client the read stores built on this loop (the next loop builds its own)."""
    from stores.factory import get_read_stores

    current = get_read_stores()
    target = current.document_reads if store == "documents" else current.file_reads
    close = getattr(target, "aclose", None)
    if close is not None:
        await close()


def render_matrix(cells: list[Cell]) -> str:
    by_key = {(c.store, c.fault, c.operation): c for c in cells}
    header = ["fault"] + [f"{s} ({BACKENDS[s]}) {op}" for s in STORES for op in OPERATIONS]
    rows = [[fault] + [by_key[(s, fault, op)].mark for s in STORES for op in OPERATIONS] for fault in FAULT_KINDS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.append("")
    for c in cells:
        lines.append(f"{c.mark:4} {c.store:9} {c.fault:7} {c.operation:11} {c.seconds:5.1f}s  {c.detail}")
    return "\n".join(lines)


def run_lab(workdir: Path) -> list[Cell]:
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    lab = FaultLab(workdir)
    try:
        lab.start()
        return lab.run()
    finally:
        lab.stop()


__all__ = ["Cell", "FaultLab", "render_matrix", "run_lab"]
