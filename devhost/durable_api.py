"""The Durable extension's HTTP API (what DurableOrchestrationClient calls) and the client binding JSON."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devhost import history as h
from devhost.durable_client import DurableClient, StartError
from devhost.instance import TERMINAL, Instance
from devhost.webhook_guard import refusal

WEBHOOK_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask"
TASK_HUB = "DevHostHub"
_PLACEHOLDER = "INSTANCEID"
_BAD_ID = re.compile(r"[/\\#?\x00-\x1f\x7f]")


def _query(task_hub: str = TASK_HUB, system_key: str | None = None) -> str:
    """The query string of every webhook URL handed out: the system key rides along, as in Azure."""
    return f"taskHub={task_hub}&connection=Storage" + (f"&code={system_key}" if system_key else "")


def client_binding(base_url: str, task_hub: str = TASK_HUB, system_key: str | None = None) -> str:
    """The durableClient binding JSON the SDK's DurableOrchestrationClient is built from (HTTP flavour)."""
    hook = f"{base_url}{WEBHOOK_PREFIX}"
    q = _query(task_hub, system_key)
    return json.dumps(
        {
            "taskHubName": task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{hook}/orchestrators/{{functionName}}[/{{instanceId}}]?{q}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{hook}/orchestrators/{{functionName}}[/{{instanceId}}]"
                    f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{q}"
                ),
            },
            "managementUrls": management_urls(hook, _PLACEHOLDER, q),
            "baseUrl": hook,
            "requiredQueryStringParameters": f"code={system_key}" if system_key else "",
            "rpcBaseUrl": f"{base_url}{RPC_PREFIX}/",  # the SDK appends paths: it must end with "/"
        }
    )


def management_urls(hook: str, instance_id: str, q: str = _query()) -> dict[str, str]:
    instance = f"{hook}/instances/{instance_id}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{instance}?{q}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{q}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{q}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{q}",
        "purgeHistoryDeleteUri": f"{instance}?{q}",
        "restartPostUri": f"{instance}/restart?{q}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{q}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{q}",
    }


def status_payload(inst: Instance, *, show_input: bool = True, show_history: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.instance_id,
        "runtimeStatus": inst.status,
        "input": json.loads(inst.input) if show_input and inst.input else None,
        "customStatus": json.loads(inst.custom_status) if inst.custom_status else None,
        "output": json.loads(inst.output) if inst.output else None,
        "createdTime": inst.created,
        "lastUpdatedTime": inst.updated,
    }
    if show_history:
        payload["historyEvents"] = inst.history
    return payload


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() == "true"


# The list query, as HttpApiHandler.HandleGetStatusRequestAsync reads it: each value goes through a .NET
# TryParse and one that does not parse is ignored (no filter, default page size), never a 400.
CONTINUATION_HEADER = "x-ms-continuation-token"
DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize
# OrchestrationRuntimeStatus: Enum.TryParse takes the names (case-sensitive) and the numbers.
_RUNTIME_STATUSES = {
    "Running": 0, "Completed": 1, "ContinuedAsNew": 2, "Failed": 3, "Canceled": 4, "Terminated": 5,
    "Pending": 6, "Suspended": 7,
}  # fmt: skip
_STATUS_BY_NUMBER = {number: name for name, number in _RUNTIME_STATUSES.items()}


def _runtime_statuses(values: list[str]) -> list[str] | None:
    found: list[str] = []
    for value in (part.strip() for v in values for part in v.split(",")):
        if value in _RUNTIME_STATUSES:
            found.append(value)
        elif re.fullmatch(r"[+-]?\d+", value) and int(value) in _STATUS_BY_NUMBER:
            found.append(_STATUS_BY_NUMBER[int(value)])
    return found or None


def _time_or_none(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return h.iso_seconds(h.parse_time(text))
    except (ValueError, OverflowError):
        return None


def _bool(text: str | None, default: bool) -> bool:
    value = (text or "").strip().lower()
    return {"true": True, "false": False}.get(value, default)


def _page_size(text: str | None) -> int:
    try:
        size = int((text or "").strip())
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size > 0 else DEFAULT_PAGE_SIZE  # devhost: a page holds at least one instance


def _list_filters(request: web.Request) -> dict[str, Any]:
    return {
        "created_from": _time_or_none(request.query.get("createdTimeFrom")),
        "created_to": _time_or_none(request.query.get("createdTimeTo")),
        "statuses": _runtime_statuses(request.query.getall("runtimeStatus", [])),
        "prefix": request.query.get("instanceIdPrefix") or None,
    }


def _continuation(last: Instance) -> str:
    """Opaque to clients (as the store's tokens are): where the next page starts."""
    return base64.b64encode(json.dumps([last.created, last.instance_id]).encode()).decode()


def _resume_after(token: str) -> tuple[str, str]:
    try:
        created, instance_id = json.loads(base64.b64decode(token, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError(f"The continuation token is not valid: {exc}") from None
    if not isinstance(created, str) or not isinstance(instance_id, str):
        raise ValueError("The continuation token is not valid.")
    return created, instance_id


def _error(status: int, message: str) -> web.Response:
    body = {"Message": "One or more of the arguments submitted is incorrect", "ExceptionMessage": message}
    return web.json_response(body, status=status)


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _guarded(handler: Handler, key: str | None) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        refused = refusal(request, key)
        return _error(*refused) if refused else await handler(request)

    return guarded


def build_routes(client: DurableClient, system_key: str | None = None) -> list[web.RouteDef]:
    """Handlers served under the webhook path (system key required, when given) and the rpcBaseUrl path."""
    q = _query(system_key=system_key)

    def hook_base(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}{WEBHOOK_PREFIX}"

    async def start(request: web.Request) -> web.Response:
        name, instance_id = request.match_info["name"], request.match_info.get("instance_id") or None
        if instance_id is not None and (
            instance_id.startswith("@") or _BAD_ID.search(instance_id) or len(instance_id) > 256
        ):
            rules = "it must not start with '@', contain /\\#? or control characters, or exceed 256 characters"
            return _error(400, f"Invalid instance ID '{instance_id}': {rules}.")
        text = (await request.text()).strip()
        if text:
            try:
                json.loads(text)
            except ValueError:
                return _error(400, "The request body is not valid JSON.")
        try:
            instance_id = client.start_new(name, instance_id, text or None)
        except StartError as exc:
            return _error(exc.status if exc.status == 400 else 500, str(exc))
        urls = management_urls(hook_base(request), instance_id, q)
        headers = {"Location": urls["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(urls, status=202, headers=headers)

    async def status(request: web.Request) -> web.Response:
        inst = client.get(request.match_info["instance_id"])
        if inst is None:
            return web.Response(status=404)
        payload = status_payload(
            inst, show_input=_flag(request, "showInput", True), show_history=_flag(request, "showHistory")
        )
        if inst.status in TERMINAL:
            return web.json_response(payload, status=200)
        location = management_urls(hook_base(request), inst.instance_id, q)["statusQueryGetUri"]
        return web.json_response(payload, status=202, headers={"Location": location, "Retry-After": "5"})

    def _filters(request: web.Request) -> dict[str, Any]:
        statuses = [s for s in request.query.get("runtimeStatus", "").split(",") if s]
        return {
            "created_from": request.query.get("createdTimeFrom"),
            "created_to": request.query.get("createdTimeTo"),
            "statuses": statuses or None,
            "prefix": request.query.get("instanceIdPrefix"),
        }

    async def query(request: web.Request) -> web.Response:
        token = request.headers.get(CONTINUATION_HEADER) or None
        try:
            after = None if token is None else _resume_after(token)
        except ValueError as exc:  # the extension fails on a token its store cannot read
            body = {"Message": "Something went wrong while processing your request", "ExceptionMessage": str(exc)}
            return web.json_response(body, status=500)
        top = _page_size(request.query.get("top"))
        found = client.query(**_list_filters(request), top=top + 1, after=after)
        page = found[:top]
        show_input = _bool(request.query.get("showInput"), default=True)
        headers = {CONTINUATION_HEADER: _continuation(page[-1])} if len(found) > top else {}
        return web.json_response([status_payload(i, show_input=show_input) for i in page], headers=headers)

    async def terminate(request: web.Request) -> web.Response:
        outcome = client.terminate(request.match_info["instance_id"], request.query.get("reason", ""))
        return web.Response(status={"ok": 202, "gone": 410, "missing": 404}[outcome])

    async def raise_event(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _error(400, "The content type must be application/json.")
        text = (await request.text()).strip() or None
        if text is not None:
            try:
                json.loads(text)
            except ValueError:
                return _error(400, "The request body is not valid JSON.")
        outcome = client.raise_event(request.match_info["instance_id"], request.match_info["event"], text)
        return web.Response(status={"ok": 202, "gone": 410, "missing": 404}[outcome])

    async def purge(request: web.Request) -> web.Response:
        deleted = client.purge(request.match_info["instance_id"])
        return web.json_response({"instancesDeleted": deleted}) if deleted else web.Response(status=404)

    async def purge_by(request: web.Request) -> web.Response:
        if not request.query.get("createdTimeFrom"):
            return _error(400, "createdTimeFrom is required.")
        try:
            deleted = client.purge_by(**_filters(request))
        except ValueError as exc:
            return _error(400, str(exc))
        return web.json_response({"instancesDeleted": deleted}) if deleted else web.Response(status=404)

    handlers: list[tuple[str, str, Handler]] = [
        ("POST", "/orchestrators/{name}", start),
        ("POST", "/orchestrators/{name}/{instance_id}", start),
        ("GET", "/instances", query),
        ("GET", "/instances/", query),
        ("DELETE", "/instances", purge_by),
        ("DELETE", "/instances/", purge_by),
        ("GET", "/instances/{instance_id}", status),
        ("DELETE", "/instances/{instance_id}", purge),
        ("POST", "/instances/{instance_id}/terminate", terminate),
        ("POST", "/instances/{instance_id}/raiseEvent/{event}", raise_event),
    ]
    routes: list[web.RouteDef] = []
    for prefix, key in ((WEBHOOK_PREFIX, system_key), (RPC_PREFIX, None)):
        for method, path, handler in handlers:  # GET routes answer HEAD too, as web.get does
            route = web.get if method == "GET" else (web.post if method == "POST" else web.delete)
            routes.append(route(prefix + path, _guarded(handler, key)))
    return routes
