"""GET /v1/health: public liveness of the stores the API reads (documents, files), the materialization lag, and
whether the materialization is degraded (region-months quarantined, or the incremental run failed twice in a
row: `checks.materialization`, from the `runs` document the runs write), and whether the data is fresh (the
newest materialized half-hour started at most HEALTH_STALE_AFTER_SECONDS ago: `checks.freshness`, from the
`intensity-now` document every commit rewrites). Reads: a ping and three point reads of the system partition
(watermark, runs, intensity-now); never Gold. `check_health` computes the body and nothing else, so a
cache or an operator variant can wrap it.

A store call cannot be interrupted from outside its thread, so each store has at most one ping in flight: a
ping that outlives its timeout is abandoned (its thread ends when the call returns, its result is dropped) and
later health checks report it as still running instead of queueing more pings behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond
from api.openapi import Operation, content, schema_ref
from api.ttl_cache import TtlCache
from core.settings import Settings
from domain.intensity_now import INTENSITY_NOW_DOC_ID
from domain.naming import WATERMARK_DOC_ID
from domain.run_outcome import RUNS_DOC_ID, materialization_check
from stores.ports import SYSTEM_PARTITION

bp = df.Blueprint()

ROUTE = Route("health", "/v1/health", {"GET": None})
DETAIL_ROUTE = Route("health_detail", "/v1/admin/health", {"GET": Role.operator})
OPERATIONS = (
    Operation(
        ROUTE,
        "GET",
        "getHealth",
        "Health of the API: its status and the newest data materialized (the same answer for a few seconds)",
        ok_model=schemas.PublicHealth,
        extra_responses={"503": content("A store is unavailable", application_json=schema_ref(schemas.PublicHealth))},
    ),
    Operation(
        DETAIL_ROUTE,
        "GET",
        "getHealthDetail",
        "Health of each store the API reads (backend, latency, error) and the materialization lag, checked now",
        ok_model=schemas.Health,
        extra_responses={"503": content("A store is unavailable", application_json=schema_ref(schemas.Health))},
    ),
)
PING_TIMEOUT_SECONDS = 5.0
DEFAULT_STALE_AFTER_SECONDS: float = Settings.model_fields["HEALTH_STALE_AFTER_SECONDS"].default


class Pingable(Protocol):
    def ping(self) -> None: ...


@dataclass
class _Ping:
    future: Future[Any]
    started: float


class PingSlots:
    """One bounded ping per store name (see the module docstring)."""

    def __init__(self, max_stores: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_stores, thread_name_prefix="health")
        self._lock = threading.Lock()
        self._inflight: dict[str, _Ping] = {}

    def run(self, name: str, call: Callable[[], Any], timeout: float) -> Any:
        """`call()`'s result; TimeoutError when it (or the ping already in flight) takes longer than `timeout`."""
        now = time.monotonic()
        with self._lock:
            ping = self._inflight.get(name)
            if ping is not None and ping.future.done():
                ping = None
            if ping is not None and now - ping.started >= timeout:
                raise TimeoutError(f"the previous ping has been running for {now - ping.started:.0f} s")
            if ping is None:  # otherwise join the ping in flight (concurrent health checks share it)
                ping = _Ping(self._pool.submit(call), now)
                self._inflight[name] = ping
        try:
            return ping.future.result(timeout=max(0.0, timeout - (now - ping.started)))
        except FutureTimeout:
            ping.future.cancel()  # only effective while queued; a running call is abandoned
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def in_flight(self) -> int:
        with self._lock:
            return sum(not p.future.done() for p in self._inflight.values())


SLOTS = PingSlots()


def _check(slots: PingSlots, name: str, call: Callable[[], Any], backend: str) -> tuple[dict[str, Any], Any]:
    started = time.perf_counter()
    result = None
    try:
        result = slots.run(name, call, PING_TIMEOUT_SECONDS)
        status, error = "ok", None
    except TimeoutError as exc:
        status, error = "unavailable", str(exc)
    except Exception as exc:
        # The exception type only: messages can carry endpoints or connection strings.
        status, error = "unavailable", type(exc).__name__
    report = {
        "status": status,
        "backend": backend,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "error": error,
    }
    return report, result


def _documents_call(documents: Any) -> Callable[[], Any]:
    def call() -> tuple[Any, Any, Any]:
        documents.ping()
        return (
            documents.get(SYSTEM_PARTITION, WATERMARK_DOC_ID),
            documents.get(SYSTEM_PARTITION, RUNS_DOC_ID),
            documents.get(SYSTEM_PARTITION, INTENSITY_NOW_DOC_ID),
        )

    return call


def _instant(value: Any) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp is not None and stamp.tzinfo is None else stamp


def freshness_check(now_doc: Any, now: datetime, stale_after_seconds: float) -> dict[str, Any]:
    """The newest materialized half-hour (the latest `timestamp` of the intensity-now document, over the
    regions and FR) and its age from its start: `degraded` when older than `stale_after_seconds` (the upstream
    stopped publishing, or the materialization stopped). `unknown` (not degraded) before the first commit."""
    items = now_doc.get("items") if isinstance(now_doc, dict) else None
    stamps = [(s, i["timestamp"]) for i in items or [] if isinstance(i, dict) and (s := _instant(i.get("timestamp")))]
    if not stamps:
        return {"status": "unknown", "newest_interval": None, "age_seconds": None,
                "stale_after_seconds": stale_after_seconds}  # fmt: skip
    newest, text = max(stamps)
    age = round((now - newest).total_seconds(), 1)
    return {
        "status": "degraded" if age > stale_after_seconds else "ok",
        "newest_interval": text,
        "age_seconds": age,
        "stale_after_seconds": stale_after_seconds,
    }


def materialization_lag(watermark_doc: Any, now: datetime) -> dict[str, Any]:
    """The watermark (newest Gold load materialized) and its age in seconds; nulls when unknown."""
    value = watermark_doc.get("value") if isinstance(watermark_doc, dict) else None
    stamp = _instant(value)
    lag = None if stamp is None else round(max(0.0, (now - stamp).total_seconds()), 1)
    return {"watermark": value if stamp is not None else None, "lag_seconds": lag}


def check_health(
    documents: Pingable,
    files: Pingable,
    backends: dict[str, str],
    slots: PingSlots = SLOTS,
    now: datetime | None = None,
    stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS,
) -> tuple[int, dict[str, Any]]:
    """Ping the serving stores (never Gold: requests do not depend on it); 503 when one is down.

    `degraded` with 200 when only the materialization or the data's freshness is: the API still serves what
    was materialized."""
    documents_report, docs = _check(
        slots, "documents", _documents_call(documents), backends.get("documents", "unknown")
    )
    watermark, runs, now_doc = docs if isinstance(docs, tuple) else (None, None, None)
    now = now or datetime.now(UTC)
    files_report, _ = _check(slots, "files", files.ping, backends.get("files", "unknown"))
    stores_checks = {"documents": documents_report, "files": files_report}
    healthy = all(c["status"] == "ok" for c in stores_checks.values())
    materialization = materialization_check(runs) if healthy else None
    freshness = freshness_check(now_doc, now, stale_after_seconds) if healthy else None
    fine = (
        materialization is not None
        and materialization["status"] == "ok"
        and freshness is not None
        and freshness["status"] != "degraded"
    )
    body = {
        "status": "ok" if healthy and fine else "degraded",
        "stores": stores_checks,
        "materialization": materialization_lag(watermark, now),
        "checks": {"materialization": materialization, "freshness": freshness},
    }
    return (200 if healthy else 503), body


def _handle_detail(ctx: RequestContext) -> Reply:
    s = ctx.stores
    backends = {"documents": ctx.settings.documents_backend, "files": ctx.settings.files_backend}
    status, body = check_health(
        s.documents, s.files, backends, stale_after_seconds=ctx.settings.HEALTH_STALE_AFTER_SECONDS
    )
    return Reply(body, status=status, cache_control=caching.NO_STORE)


# The public answer, per worker: anonymous probes at any rate cost one set of store pings per HEALTH_CACHE_SECONDS.
PUBLIC_CACHE: TtlCache[Reply] = TtlCache()
_PUBLIC_FIELDS = ("status", "materialization", "checks")  # backends, latencies and store errors are for operators


def _handle(ctx: RequestContext) -> Reply:
    return PUBLIC_CACHE.get("public", ctx.settings.HEALTH_CACHE_SECONDS, lambda: _public(_handle_detail(ctx)))


def _public(detail: Reply) -> Reply:
    body = {name: detail.body[name] for name in _PUBLIC_FIELDS}
    return Reply(body, status=detail.status, cache_control=caching.NO_STORE)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)


@bp.function_name(name=DETAIL_ROUTE.function_name)
@bp.route(route=DETAIL_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def health_detail(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, DETAIL_ROUTE, _handle_detail)
