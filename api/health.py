"""GET /v1/health: public liveness of the stores the API reads (documents, files)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol

import azure.durable_functions as df
import azure.functions as func

from api import caching
from api.deps import stores
from api.http import ALL_METHODS, Reply, RequestContext, Route, respond

bp = df.Blueprint()

ROUTE = Route("health", "/v1/health", {"GET": None})
PING_TIMEOUT_SECONDS = 5.0
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


class Pingable(Protocol):
    def ping(self) -> None: ...


def _ping(name: str, store: Pingable, backend: str) -> dict[str, Any]:
    started = time.perf_counter()
    future = _pool.submit(store.ping)
    try:
        future.result(timeout=PING_TIMEOUT_SECONDS)
        status, error = "ok", None
    except FutureTimeout:
        status, error = "unavailable", f"no answer within {PING_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        # The exception type only: messages can carry endpoints or connection strings.
        status, error = "unavailable", type(exc).__name__
    return {
        "status": status,
        "backend": backend,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "error": error,
    }


def check_health(documents: Pingable, files: Pingable, backends: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Ping the serving stores (never Gold: requests do not depend on it); 503 when one is down."""
    checks = {
        "documents": _ping("documents", documents, backends.get("documents", "unknown")),
        "files": _ping("files", files, backends.get("files", "unknown")),
    }
    healthy = all(c["status"] == "ok" for c in checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "stores": checks}


def _handle(ctx: RequestContext) -> Reply:
    s = stores()
    backends = {"documents": ctx.settings.documents_backend, "files": ctx.settings.files_backend}
    status, body = check_health(s.documents, s.files, backends)
    return Reply(body, status=status, cache_control=caching.NO_STORE)


@bp.function_name(name=ROUTE.function_name)
@bp.route(route=ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, ROUTE, _handle)
