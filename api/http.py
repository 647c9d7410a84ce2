"""The HTTP envelope of every route: request id, CORS, methods, auth, problem+json, caching and gzip.

A trigger calls `respond(req, route, handler)` (a sync trigger, run on the worker's threads) or
`respond_async` (an async one, on the event loop: its handler awaits the async reads ports); the handler is a
function of a `RequestContext` returning a `Reply`, and reaches the stores through `ctx.stores`. Everything a
client sees around the payload is produced here, so every error, on every route, has the same problem+json shape
and carries X-Request-ID.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import azure.functions as func
import orjson

from api import caching
from api.auth import AuthError, Principal, Role, authenticate, authorize, www_authenticate
from api.ratelimit import Decision, address_limiter, client_address, limiter_for
from core.settings import Settings, get_settings, running_in_azure
from core.telemetry import bind_log_context, reset_log_context
from stores import factory
from stores.errors import StoreUnavailable

if TYPE_CHECKING:
    from stores.factory import Stores

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
JSON_CONTENT_TYPE = "application/json"
REQUEST_ID_HEADER = "X-Request-ID"
# Every method is routed to our functions so that a wrong one gets our 405 problem, not the host's page.
ALL_METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ORIGIN = re.compile(r"^(https?://[^/]+)")  # scheme and authority of a request's URL
_CORS_ALLOWED_HEADERS = "Accept, Accept-Encoding, Authorization, Content-Type, If-None-Match, X-API-Key, X-Request-ID"
_CORS_EXPOSED_HEADERS = (
    "Content-Disposition, Content-Encoding, ETag, Location, RateLimit, RateLimit-Policy, Retry-After, X-Request-ID"
)
_CORS_MAX_AGE = "600"

_TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Route:
    """One HTTP function: its Functions name, its OpenAPI path, and the role each method needs (None: public)."""

    function_name: str
    path: str  # OpenAPI style: "/v1/production/regional/{region_code}/{date}"
    methods: Mapping[str, Role | None]

    @property
    def functions_route(self) -> str:
        """The route template as the Functions host wants it (no leading slash)."""
        return self.path.lstrip("/")

    def allowed(self) -> list[str]:
        methods = set(self.methods) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)


@dataclass(frozen=True)
class ParameterError:
    parameter: str
    message: str


class ApiError(Exception):
    """An expected failure, rendered as a problem+json response by `problem_response`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[ParameterError] | None = None,
        headers: Mapping[str, str] | None = None,
        slug: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = dict(headers or {})
        self.slug = slug


@dataclass
class Reply:
    """What a handler returns: JSON-able `body` (or bytes with `content_type`) plus caching facts."""

    body: Any = None
    status: int = 200
    content_type: str = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # quoted
    cache_control: str | None = None
    gzip_body: bytes | None = None  # the gzip form of `body` (bytes), made beforehand: served as it is
    gzip_make: Callable[[], bytes] | None = None  # else what makes it cheaper than compressing `body`


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    method: str
    principal: Principal | None
    settings: Settings
    req: func.HttpRequest
    rate_limit: Decision | None = None  # the caller's bucket after this request (keyed routes)

    @cached_property
    def stores(self) -> Stores:
        """The API's stores of this worker (built on first use: a route that reads none opens none)."""
        return factory.get_read_stores()


def request_header(req: func.HttpRequest, name: str) -> str | None:
    """The request's `name` header (case-insensitive), None when absent."""
    value: str | None = req.headers.get(name)
    return value


def request_id_for(req: func.HttpRequest) -> str:
    """The caller's X-Request-ID when it is safe to echo, else a fresh one."""
    incoming = request_header(req, REQUEST_ID_HEADER)
    if incoming and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


def new_request_id() -> str:
    """32 hex digits from the OS's random source, as uuid4().hex gives (unique and unguessable)."""
    return os.urandom(16).hex()


def problem_body(
    status: int, detail: str, request_id: str, errors: list[ParameterError] | None = None, slug: str | None = None
) -> dict[str, Any]:
    """The one problem+json shape (RFC 9457) of this API."""
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": f"urn:eco2mix:problem:{slug or title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors:
        body["errors"] = [{"parameter": e.parameter, "message": e.message} for e in errors]
    return body


def dumps(body: Any) -> bytes:
    # orjson: ~10x faster than json on the large range responses; documents hold no NaN (domain rounds them away).
    return orjson.dumps(body)


def problem_response(error: ApiError, request_id: str) -> func.HttpResponse:
    body = problem_body(error.status, error.detail, request_id, error.errors, error.slug)
    headers = {
        **error.headers,
        REQUEST_ID_HEADER: request_id,
        "Cache-Control": "no-store",
        "Content-Type": PROBLEM_CONTENT_TYPE,
    }
    return func.HttpResponse(dumps(body), status_code=error.status, headers=headers, mimetype=PROBLEM_CONTENT_TYPE)


@lru_cache(maxsize=8)
def _allowed_origins(setting: str) -> frozenset[str]:
    # Keyed by the setting's text (a few values per worker), parsed once instead of on every request.
    return frozenset(o.strip() for o in setting.split(",") if o.strip())


def _cors_headers(req: func.HttpRequest, settings: Settings) -> dict[str, str]:
    origin = request_header(req, "Origin")
    if not origin:
        return {}
    allowed = _allowed_origins(settings.CORS_ALLOWED_ORIGINS)
    if not allowed or (origin not in allowed and "*" not in allowed):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": _CORS_EXPOSED_HEADERS}


def _with_envelope(resp: func.HttpResponse, req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    if not settings.CORS_ALLOWED_ORIGINS.strip():  # no origin allowed: no CORS header, no Vary: Origin
        return resp
    cors = _cors_headers(req, settings)
    for name, value in cors.items():
        resp.headers[name] = value
    resp.headers["Vary"] = _merge_vary(resp.headers.get("Vary"), "Origin")
    return resp


def _merge_vary(existing: str | None, name: str) -> str:
    if not existing:
        return name
    names = [v.strip() for v in existing.split(",") if v.strip()]
    return ", ".join([*names, name] if name not in names else names)


def _preflight(req: func.HttpRequest, route: Route, request_id: str, settings: Settings) -> func.HttpResponse:
    allow = ", ".join(route.allowed())
    headers = {"Allow": allow, REQUEST_ID_HEADER: request_id}
    if _cors_headers(req, settings):
        headers |= {
            "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": _CORS_ALLOWED_HEADERS,
            "Access-Control-Max-Age": _CORS_MAX_AGE,
        }
    return func.HttpResponse(b"", status_code=204, headers=headers)


def _start(req: func.HttpRequest, route: Route, settings: Settings) -> RequestContext | func.HttpResponse:
    """Request id, OPTIONS, 405, auth: the handler's context, or the early answer before a handler runs."""
    request_id = request_id_for(req)
    method = req.method.upper()
    if method == "OPTIONS":
        return _preflight(req, route, request_id, settings)
    effective = "GET" if method == "HEAD" else method
    if effective not in route.methods:
        allow = ", ".join(route.allowed())
        error = ApiError(405, f"{method} is not allowed on {route.path}; allowed: {allow}.", headers={"Allow": allow})
        return problem_response(error, request_id)
    required = route.methods[effective]
    if required is None:
        limited = _address_decision(req, settings, "public", take=True)
        if limited is not None:
            return problem_response(limited, request_id)
        return RequestContext(request_id, method, None, settings, req)
    try:
        # An address whose refused credentials emptied its bucket is answered before any credential check.
        blocked = _address_decision(req, settings, "refused", take=False)
        if blocked is not None:
            return problem_response(blocked, request_id)
        principal = authenticate(req.headers, settings)
        decision = _rate_decision(principal, settings)
        if decision is not None and not decision.allowed:
            return problem_response(_too_many_requests(decision, principal), request_id)
        authorize(principal, required)
    except AuthError as exc:
        if exc.status == 401:
            limited = _address_decision(req, settings, "refused", take=True)
            if limited is not None:
                return problem_response(limited, request_id)
        headers = {"WWW-Authenticate": www_authenticate(settings)} if exc.status == 401 else {}
        return problem_response(ApiError(exc.status, exc.detail, headers=headers | exc.headers), request_id)
    return RequestContext(request_id, method, principal, settings, req, decision)


def _address_decision(req: func.HttpRequest, settings: Settings, scope: str, *, take: bool) -> ApiError | None:
    """The 429 of the client address's `scope` bucket ("public": requests to public routes; "refused": requests
    whose credential was refused), taking a token when `take`, else only looking; None when allowed.

    Public routes and refused credentials have no validated credential to count against: without this, anyone
    could make an instance ping its stores (/v1/health) or check made-up keys and tokens as fast as it can answer."""
    limit = settings.RATE_LIMIT_ANONYMOUS_REQUESTS
    if limit == 0:
        return None
    limiter = address_limiter(scope, limit, settings.RATE_LIMIT_WINDOW_SECONDS)
    if not take and len(limiter) == 0:  # no refusal yet on this worker: no address to read (keyed reads' path)
        return None
    address = client_address(request_header(req, "X-Forwarded-For"), settings.TRUSTED_PROXY_HOPS)
    decision = limiter.check(address) if take else limiter.peek(address)
    if decision is None or decision.allowed:
        return None
    decision = replace(decision, policy=f"address-{scope}")
    log.warning("rate limited address=%s scope=%s", address, scope)
    what = "requests to public routes" if scope == "public" else "requests with a refused credential"
    detail = (
        f"More than {decision.limit} {what} in {decision.window_seconds} s from this address; "
        f"retry after {decision.retry_after_seconds} s."
    )
    return ApiError(429, detail, headers=decision.headers(), slug="rate-limited")


def _rate_decision(principal: Principal, settings: Settings) -> Decision | None:
    """The caller's bucket takes this request (keyed by the validated credential, never a raw header)."""
    if settings.RATE_LIMIT_REQUESTS == 0:
        return None
    limiter = limiter_for(settings.RATE_LIMIT_REQUESTS, settings.RATE_LIMIT_WINDOW_SECONDS)
    return limiter.check(f"{principal.method}:{principal.subject}")


def charge_more(ctx: RequestContext, tokens: int) -> None:
    """Take `tokens` more from the caller's bucket for a request dearer than one (an export build): 429 when the
    bucket does not hold them, so nothing dear is started."""
    if ctx.principal is None or ctx.settings.RATE_LIMIT_REQUESTS == 0 or tokens < 1:
        return
    limiter = limiter_for(ctx.settings.RATE_LIMIT_REQUESTS, ctx.settings.RATE_LIMIT_WINDOW_SECONDS)
    decision = limiter.check(f"{ctx.principal.method}:{ctx.principal.subject}", tokens)
    if not decision.allowed:
        raise _too_many_requests(decision, ctx.principal)


def _too_many_requests(decision: Decision, principal: Principal) -> ApiError:
    log.warning("rate limited caller=%s:%s", principal.method, principal.subject)
    detail = (
        f"More than {decision.limit} requests in {decision.window_seconds} s with this credential; "
        f"retry after {decision.retry_after_seconds} s."
    )
    return ApiError(429, detail, headers=decision.headers(), slug="rate-limited")


def _with_rate_limit(resp: func.HttpResponse, ctx: RequestContext) -> func.HttpResponse:
    """Every answer to a keyed request tells the caller its quota and what is left (IETF RateLimit headers)."""
    if ctx.rate_limit is not None:
        for name, value in ctx.rate_limit.headers().items():
            resp.headers[name] = value
    return resp


def _finish(ctx: RequestContext, reply: Reply) -> func.HttpResponse:
    headers = dict(reply.headers)
    headers[REQUEST_ID_HEADER] = ctx.request_id
    if reply.cache_control:
        headers["Cache-Control"] = caching.for_caller(reply.cache_control, ctx.principal is not None)
    if reply.body is None:
        data = b""
    elif isinstance(reply.body, bytes):
        data = reply.body
    else:
        data = dumps(reply.body)
    gzipped = False
    if data and caching.compressible(reply.content_type):
        headers["Vary"] = _merge_vary(headers.get("Vary"), "Accept-Encoding")
        accepted = caching.accepts_gzip(request_header(ctx.req, "Accept-Encoding"))
        gzipped = accepted and len(data) > caching.GZIP_MIN_BYTES
    if reply.etag:
        headers["ETag"] = caching.gzip_etag(reply.etag) if gzipped else reply.etag
        if reply.status == 200 and caching.matches(request_header(ctx.req, "If-None-Match"), reply.etag):
            return _not_modified(headers, reply.content_type, ctx.rate_limit)
    if ctx.method == "HEAD":  # the GET's headers, no body: its gzip form is not made either
        data = b""
    elif gzipped:
        if reply.gzip_body is not None:
            data = reply.gzip_body
        else:
            data = reply.gzip_make() if reply.gzip_make is not None else caching.gzip_bytes(data)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if reply.status != 302 or data:
        headers["Content-Type"] = reply.content_type
    if ctx.rate_limit is not None:  # as `_with_rate_limit` sets them, put in with the others
        headers.update(ctx.rate_limit.headers())
    return func.HttpResponse(data, status_code=reply.status, headers=headers, mimetype=reply.content_type)


def _not_modified(headers: dict[str, str], content_type: str, rate_limit: Decision | None) -> func.HttpResponse:
    """304 with the 200's Cache-Control, ETag and Vary (RFC 9110 §15.4.5), and no representation headers.

    The Functions worker gives every response a Content-Type from its mimetype (text/plain by default), and
    a cache may copy a 304's headers onto its stored 200: so the 304 names the stored 200's own type."""
    kept = {k: v for k, v in headers.items() if k not in ("Content-Encoding", "Content-Length")}
    kept["Content-Type"] = content_type
    if rate_limit is not None:
        kept.update(rate_limit.headers())
    return func.HttpResponse(b"", status_code=304, headers=kept, mimetype=content_type)


def _failure(ctx: RequestContext, exc: Exception) -> func.HttpResponse:
    if isinstance(exc, ApiError):
        return problem_response(exc, ctx.request_id)
    if isinstance(exc, StoreUnavailable):  # a store fault the client may retry: 503, never a 500
        log.warning("%s request_id=%s", exc, ctx.request_id)
        retry_after = exc.retry_after_seconds or ctx.settings.STORE_RETRY_AFTER_SECONDS
        detail = f"The {exc.store} store is unavailable; retry after {retry_after} s."
        return problem_response(
            ApiError(503, detail, headers={"Retry-After": str(retry_after)}, slug="store-unavailable"), ctx.request_id
        )
    # The stack trace goes to the log with the request id; the client gets the id only.
    log.exception("unhandled error in %s request_id=%s", ctx.req.url, ctx.request_id)
    error = ApiError(500, "An unexpected error occurred; quote the request_id when reporting it.")
    return problem_response(error, ctx.request_id)


def respond(
    req: func.HttpRequest,
    route: Route,
    handler: Callable[[RequestContext], Reply],
    settings: Settings | None = None,
) -> func.HttpResponse:
    """Run a synchronous handler inside the envelope."""
    settings = settings or get_settings()
    ctx = _start(req, route, settings)
    if not isinstance(ctx, RequestContext):  # answered before the handler (OPTIONS, 405, 401/403/429)
        return _with_envelope(ctx, req, settings)
    token = bind_log_context(request_id=ctx.request_id)  # every log line of the handler carries the request id
    try:
        resp = _finish(ctx, handler(ctx))  # with the RateLimit headers
    except Exception as exc:
        resp = _with_rate_limit(_failure(ctx, exc), ctx)
    finally:
        reset_log_context(token)
    return _with_envelope(resp, req, settings)


async def respond_async(
    req: func.HttpRequest,
    route: Route,
    handler: Callable[[RequestContext], Awaitable[Reply]],
    settings: Settings | None = None,
) -> func.HttpResponse:
    """Run an async handler (reads awaited on the event loop, durable client routes) inside the envelope."""
    settings = settings or get_settings()
    ctx = _start(req, route, settings)
    if not isinstance(ctx, RequestContext):  # as in `respond`
        return _with_envelope(ctx, req, settings)
    token = bind_log_context(request_id=ctx.request_id)
    try:
        resp = _finish(ctx, await handler(ctx))
    except Exception as exc:
        resp = _with_rate_limit(_failure(ctx, exc), ctx)
    finally:
        reset_log_context(token)
    return _with_envelope(resp, req, settings)


def base_url(req: func.HttpRequest, settings: Settings | None = None) -> str:
    """The prefix of absolute links (`next`, `href`, `links.self`): the configured API_PUBLIC_URL; unset, the
    request's own scheme and host only when that host is a loopback address and the app is not in Azure (devhost);
    otherwise "" and links are relative (a path, which RFC 3986 clients resolve against the URL they called).

    The request's URL comes from its Host header, which the caller chooses: echoed, it lets anyone have our answers
    (and any cache keeping them) point at their host, and behind the gateway it names the Function App, which
    admits only the gateway."""
    configured = (settings or get_settings()).API_PUBLIC_URL
    if configured:
        return configured.rstrip("/")
    match = _ORIGIN.match(req.url)
    if match is None or running_in_azure() or not _loopback_origin(match.group(1)):
        return ""
    return match.group(1)


@lru_cache(maxsize=64)  # a few origins per worker; a caller varying Host only evicts entries
def _loopback_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        host, _ = parts.hostname, parts.port  # .port raises on a port that is not a number
        return host == "localhost" or (host is not None and ipaddress.ip_address(host).is_loopback)
    except ValueError:  # not an address (a name other than localhost), a bad port, an unbalanced "["
        return False
