"""POST /v1/admin/backfills, GET and DELETE /v1/admin/backfills/{instance_id}: operator backfills.

The instance id is derived from the request (range + regions), so the same request while a run is
active returns that run instead of starting a second one. DELETE deletes the run's record: it terminates the
run first when it is still active, then purges its history, so the resource is gone (404) afterwards; what the
run already materialized stays.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

import azure.durable_functions as df
import azure.functions as func

from api import caching, schemas
from api.auth import Role
from api.http import ALL_METHODS, ApiError, ParameterError, Reply, RequestContext, Route, base_url, respond_async
from api.openapi import Operation
from api.params import MAX_BACKFILL_RANGE_DAYS, REGION_CODES, BackfillPath, BackfillRequest, check_span, parse
from api.run_list import RunListQuery, list_runs, lister_for
from api.run_status import as_object, iso, run_kind, runtime_status, status_body
from orchestrations.names import BACKFILL_INSTANCE_PREFIX, ORCHESTRATOR

bp = df.Blueprint()
log = logging.getLogger(__name__)

# One function for the collection: POST starts a backfill, GET lists the runs (the Functions name predates GET).
START_ROUTE = Route("backfill_start", "/v1/admin/backfills", {"GET": Role.operator, "POST": Role.operator})
INSTANCE_ROUTE = Route(
    "backfill_instance", "/v1/admin/backfills/{instance_id}", {"GET": Role.operator, "DELETE": Role.operator}
)
OPERATIONS = (
    Operation(
        START_ROUTE,
        "GET",
        "listRuns",
        "Recent runs, backfills and the scheduled incremental run alike, each with its progress and output; "
        "filtered by status, kind and creation time, paged with an opaque continuation (follow `next`)",
        query=RunListQuery,
        ok_model=schemas.RunList,
        errors=(400,),
    ),
    Operation(
        START_ROUTE,
        "POST",
        "startBackfill",
        "Start (or return the running) backfill of a range; 409 while an overlapping one runs",
        body=BackfillRequest,
        ok_status=202,
        ok_model=schemas.BackfillStatus,
        ok_headers=("Location",),
        errors=(400, 409, 413, 415),
    ),
    Operation(
        INSTANCE_ROUTE,
        "GET",
        "getBackfill",
        "Status, progress and output of a run: a backfill or the incremental run (id materialize-incremental)",
        path=BackfillPath,
        ok_model=schemas.BackfillStatus,
        errors=(404,),
    ),
    Operation(
        INSTANCE_ROUTE,
        "DELETE",
        "deleteBackfill",
        "Delete a backfill: terminate it when still running, then purge its record (404 afterwards; the data it "
        "materialized stays). 409 with Retry-After when a running backfill has not ended yet: repeat the DELETE. "
        "409 for the scheduled incremental run (materialize-incremental): its history is not the operator's to purge.",
        path=BackfillPath,
        ok_status=204,
        errors=(404, 409),
        extra_responses={
            "204": {
                "description": "Deleted (terminated first when it was running)",
                "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}},
            }
        },
    ),
)
MAX_BODY_BYTES = 16 * 1024
# DELETE of an active run waits this long for the termination to land before purging (else 409, retry).
TERMINATE_WAIT_SECONDS = 10.0
_TERMINATE_POLL_SECONDS = 0.25
_ACTIVE = {"Running", "Pending"}


class OrchestrationClient(Protocol):
    """The part of df.DurableOrchestrationClient the backfill routes use."""

    async def get_status(
        self, instance_id: str, show_history: bool = ..., show_history_output: bool = ..., show_input: bool = ...
    ) -> Any: ...

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = ..., client_input: Any = ...
    ) -> str: ...

    async def terminate(self, instance_id: str, reason: str) -> None: ...

    async def get_status_by(
        self,
        created_time_from: Any = ...,
        created_time_to: Any = ...,
        runtime_status: Any = ...,
        instance_id_prefix: str | None = ...,
    ) -> list[Any]: ...

    async def purge_instance_history(self, instance_id: str) -> Any: ...


def normalized_regions(codes: list[str] | None) -> list[str] | None:
    """Sorted unique codes; None means every region (and so does listing all twelve)."""
    if not codes:
        return None
    unique = sorted(set(codes))
    unknown = [c for c in unique if c not in REGION_CODES]
    if unknown:
        raise ApiError(
            400,
            f"Unknown region codes: {', '.join(unknown)}.",
            errors=[ParameterError("region_codes", f"unknown region code {c!r}") for c in unknown],
            slug="invalid-parameters",
        )
    return None if len(unique) == len(REGION_CODES) else unique


def instance_id_for(start_date: str, end_date: str, region_codes: list[str] | None) -> str:
    regions = ",".join(region_codes) if region_codes else "*"
    digest = hashlib.sha256(f"{start_date}|{end_date}|{regions}".encode()).hexdigest()
    return BACKFILL_INSTANCE_PREFIX + digest[:16]


async def _existing(client: OrchestrationClient, instance_id: str) -> Any | None:
    """The status of a run (a backfill or the incremental run), or None for an id that is not (or no longer) ours."""
    if run_kind(instance_id) is None:
        return None
    status = await client.get_status(instance_id, show_input=True)
    if not status or (getattr(status, "name", None) not in (None, ORCHESTRATOR)):
        return None
    return status


def overlaps(request: Any, start: str, end: str, regions: list[str] | None) -> bool:
    """Whether a running backfill's input shares a day and a region with [start, end] × regions (None: all)."""
    if not isinstance(request, dict) or not (
        request.get("start_date", "") <= end and start <= request.get("end_date", "")
    ):
        return False
    other = request.get("region_codes")
    return not other or regions is None or bool(set(other) & set(regions))


async def _overlapping(
    client: OrchestrationClient, instance_id: str, start: str, end: str, regions: list[str] | None
) -> list[tuple[str, Any]]:
    """(id, status) of the active backfills other than `instance_id` that overlap this range and regions,
    first created first (ties by id): the order that decides which of two racing starts keeps running."""
    listed = await client.get_status_by(
        runtime_status=[df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending],
        instance_id_prefix=BACKFILL_INSTANCE_PREFIX,
    )
    found: list[tuple[str, Any]] = []
    for other_id in sorted({str(s.instance_id) for s in listed if s.instance_id and s.instance_id != instance_id}):
        status = await _existing(client, other_id)  # the listing may omit inputs: read each with its input
        active = status is not None and runtime_status(status) in _ACTIVE
        if active and overlaps(as_object(getattr(status, "input_", None)), start, end, regions):
            found.append((other_id, status))
    return sorted(found, key=lambda item: (iso(getattr(item[1], "created_time", None)) or "", item[0]))


def _conflict(other_id: str, status: Any, links_for: Callable[[str], dict[str, str]]) -> ApiError:
    request = as_object(getattr(status, "input_", None)) or {}
    return ApiError(
        409,
        f"Backfill {other_id} ({request.get('start_date')} to {request.get('end_date')}, regions "
        f"{', '.join(request.get('region_codes') or []) or 'all'}) is running and overlaps this range; "
        f"wait for it or delete it: {links_for(other_id)['self']}",
        headers={"Retry-After": "30"},
        slug="backfill-overlap",
    )


async def start_backfill(
    client: OrchestrationClient, request: BackfillRequest, links_for: Callable[[str], dict[str, str]]
) -> tuple[str, dict[str, Any]]:
    """Start (or find running) the backfill of this range and regions; (instance id, status body)."""
    check_span(request.start_date, request.end_date, MAX_BACKFILL_RANGE_DAYS, "per backfill")
    regions = normalized_regions(request.region_codes)
    start, end = request.start_date.isoformat(), request.end_date.isoformat()
    instance_id = instance_id_for(start, end, regions)
    status = await client.get_status(instance_id, show_input=True)
    if status and runtime_status(status) in _ACTIVE:
        return instance_id, status_body(instance_id, status, links_for(instance_id), already_running=True)
    # At most one backfill per region-range: an overlapping one running is a 409 naming it.
    running = await _overlapping(client, instance_id, start, end, regions)
    if running:
        raise _conflict(*running[0], links_for)
    payload = {"mode": "backfill", "start_date": start, "end_date": end, "region_codes": regions}
    await client.start_new(ORCHESTRATOR, instance_id, payload)
    # Two overlapping requests at once both pass the check above: the one created later yields.
    mine = await client.get_status(instance_id, show_input=True)
    mine_key = (iso(getattr(mine, "created_time", None)) or "", instance_id)
    earlier = [
        (other_id, other)
        for other_id, other in await _overlapping(client, instance_id, start, end, regions)
        if ((iso(getattr(other, "created_time", None)) or ""), other_id) < mine_key
    ]
    if earlier:
        await client.terminate(instance_id, f"overlaps backfill {earlier[0][0]}, started first")
        raise _conflict(*earlier[0], links_for)
    status = await client.get_status(instance_id, show_input=True)
    body = status_body(instance_id, status, links_for(instance_id))
    if body["runtime_status"] is None:  # not yet visible: it was just accepted
        body["runtime_status"] = "Pending"
    if body["request"] is None:
        body["request"] = {k: payload[k] for k in ("start_date", "end_date", "region_codes")}
    return instance_id, body


async def _required(client: OrchestrationClient, instance_id: str) -> Any:
    """The backfill's status; 404 when there is no such backfill."""
    status = await _existing(client, instance_id)
    if status is None:
        raise ApiError(404, f"No backfill {instance_id!r}.", slug="unknown-backfill")
    return status


async def backfill_status(
    client: OrchestrationClient, instance_id: str, links_for: Callable[[str], dict[str, str]]
) -> dict[str, Any]:
    status = await _required(client, instance_id)
    return status_body(instance_id, status, links_for(instance_id))


async def delete_backfill(
    client: OrchestrationClient, instance_id: str, wait_seconds: float = TERMINATE_WAIT_SECONDS
) -> str:
    """Terminate the run if active, then purge it; its last runtime status. 404 unknown; 409 + Retry-After
    when an active run has not ended within `wait_seconds` (the termination goes on; repeat the DELETE).
    409 for the scheduled incremental run: terminating it would stop the schedule's run midway, and purging
    it would lose the record `GET /v1/admin/backfills` and the run status show of the last scheduled run."""
    if run_kind(instance_id) == "incremental":
        raise ApiError(
            409,
            f"{instance_id} is the scheduled incremental run, not a backfill: it cannot be terminated or deleted.",
            slug="scheduled-run",
        )
    status = await _required(client, instance_id)
    runtime = runtime_status(status)
    if runtime in _ACTIVE:
        await client.terminate(instance_id, "deleted by an operator through the API")
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while runtime in _ACTIVE:
            if asyncio.get_running_loop().time() >= deadline:
                raise ApiError(
                    409,
                    f"Backfill {instance_id} is terminating but still {runtime}; repeat the DELETE to remove it.",
                    headers={"Retry-After": "5"},
                    slug="still-terminating",
                )
            await asyncio.sleep(_TERMINATE_POLL_SECONDS)
            runtime = runtime_status(await client.get_status(instance_id))
    await client.purge_instance_history(instance_id)
    return runtime or "unknown"


def read_json_body(req: func.HttpRequest) -> dict[str, Any]:
    """The request's JSON object; 415 for another content type, 413 when too large, 400 when malformed."""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "The body must be JSON (Content-Type: application/json).", slug="unsupported-media-type")
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"The body exceeds {MAX_BODY_BYTES} bytes.", slug="body-too-large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise ApiError(
            400, "The body is not valid JSON.", errors=[ParameterError("body", "malformed JSON")], slug="malformed-json"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "The body must be a JSON object.",
            errors=[ParameterError("body", "not an object")],
            slug="malformed-json",
        )
    return data


def _links(req: func.HttpRequest) -> Callable[[str], dict[str, str]]:
    root = base_url(req) + START_ROUTE.path

    def links_for(instance_id: str) -> dict[str, str]:
        url = f"{root}/{instance_id}"
        return {"self": url, "terminate": url}  # DELETE: terminate (when running) and delete

    return links_for


def _caller(ctx: RequestContext) -> str:
    """Who asked, for the audit log: the key's id or the token's subject, never the credential."""
    return "anonymous" if ctx.principal is None else f"{ctx.principal.method}:{ctx.principal.subject}"


@bp.function_name(name=START_ROUTE.function_name)
@bp.route(route=START_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def backfill_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def handle(ctx: RequestContext) -> Reply:
        if ctx.method == "GET":
            query = parse(RunListQuery, dict(ctx.req.params), what="query")
            listed = await list_runs(lister_for(client), query, _links(ctx.req), base_url(ctx.req) + START_ROUTE.path)
            return Reply(listed, cache_control=caching.NO_STORE)
        request = parse(BackfillRequest, read_json_body(ctx.req), what="body")
        instance_id, body = await start_backfill(client, request, _links(ctx.req))
        log.info(
            "backfill %s id=%s range=%s..%s regions=%s caller=%s",
            "joined" if body["already_running"] else "started",
            instance_id,
            request.start_date,
            request.end_date,
            ",".join(request.region_codes or []) or "all",
            _caller(ctx),
        )
        location = f"{START_ROUTE.path}/{instance_id}"
        headers = {"Location": location, "Retry-After": "5"}
        return Reply(body, status=202, headers=headers, cache_control=caching.NO_STORE)

    return await respond_async(req, START_ROUTE, handle)


@bp.function_name(name=INSTANCE_ROUTE.function_name)
@bp.route(route=INSTANCE_ROUTE.functions_route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def backfill_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def handle(ctx: RequestContext) -> Reply:
        path = parse(BackfillPath, dict(ctx.req.route_params), what="path")
        if ctx.method == "DELETE":
            ended_as = await delete_backfill(client, path.instance_id)
            log.info("backfill deleted id=%s was=%s caller=%s", path.instance_id, ended_as, _caller(ctx))
            return Reply(None, status=204, cache_control=caching.NO_STORE)
        body = await backfill_status(client, path.instance_id, _links(ctx.req))
        return Reply(body, cache_control=caching.NO_STORE)

    return await respond_async(req, INSTANCE_ROUTE, handle)
