"""The Durable extension's HTTP API (what DurableOrchestrationClient calls) and the client binding JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

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
        try:
            top = int(request.query.get("top", "1000"))
            found = client.query(**_filters(request), top=top)
        except ValueError as exc:
            return _error(400, str(exc))
        show_input = _flag(request, "showInput", False)
        return web.json_response([status_payload(i, show_input=show_input) for i in found])

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
