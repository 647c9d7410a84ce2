"""Function index: one `get_functions()` call, triggers classified, routes compiled."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.indexing import check_app_functions, has_return_binding
from devhost.routes import RouteTemplate, compile_route, sort_by_precedence

_SETTING = re.compile(r"%([^%]+)%")
_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_describe_cache: dict[int, list[dict[str, Any]]] = {}


@dataclass
class FunctionInfo:
    """One function of the app, as the host sees it."""

    name: str
    trigger_type: str
    trigger_name: str
    user_function: Any
    route: RouteTemplate | None = None
    methods: tuple[str, ...] = ()
    schedule: str | None = None
    run_on_startup: bool = False
    durable_name: str | None = None  # orchestration/activity name (case-insensitive lookup)
    client_binding: str | None = None  # durableClient parameter name, when present
    parameters: frozenset[str] = field(default_factory=frozenset)
    has_return: bool = False  # a "$return" or implicit output binding: else returning a value fails the call
    is_async: bool = field(init=False)  # awaited on the loop (as the worker does), else run on a thread

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.user_function)  # once, not on every call


def app_setting(
    name: str, env: Mapping[str, str] | None = None, default: Callable[[str], str | None] | None = None
) -> str | None:
    """An app setting: the environment first, then `default(name)` (the app's hooks may give one)."""
    source = os.environ if env is None else env
    if name in source:
        return source[name]
    return default(name) if default is not None else None


def resolve_setting_expressions(
    value: str, env: Mapping[str, str] | None = None, default: Callable[[str], str | None] | None = None
) -> str:
    """Replace `%NAME%` with the app setting NAME (as the host does); unknown names stay as they are."""
    return _SETTING.sub(lambda m: app_setting(m.group(1), env, default) or m.group(0), value)


def load_app(spec: str) -> Any:
    """Import `module:attr` (default attr `app`) and return the FunctionApp object."""
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr or "app")


def read_route_prefix(host_json: Path) -> str:
    """host.json extensions.http.routePrefix; the Functions default is "api"."""
    if not host_json.is_file():
        return "api"
    http = json.loads(host_json.read_text()).get("extensions", {}).get("http", {})
    return str(http.get("routePrefix", "api")).strip("/")


def read_max_concurrent_activities(host_json: Path, cpu_count: int | None = None) -> int:
    """host.json extensions.durableTask.maxConcurrentActivityFunctions; the extension's default is 10 × cores."""
    durable = {}
    if host_json.is_file():
        durable = json.loads(host_json.read_text()).get("extensions", {}).get("durableTask", {})
    value = durable.get("maxConcurrentActivityFunctions")
    return int(value) if value else 10 * (cpu_count or os.cpu_count() or 1)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).upper()


def _parameters(fn: Any) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _classify(function: Any, prefix: str) -> FunctionInfo:
    trigger = function.get_trigger()
    ttype = trigger.type
    info = FunctionInfo(
        name=function.get_function_name(),
        trigger_type=ttype,
        trigger_name=trigger.name,
        user_function=function.get_user_function(),
    )
    info.parameters = _parameters(info.user_function)
    info.has_return = has_return_binding(function)
    for binding in function.get_bindings():
        if binding.type == "durableClient":
            info.client_binding = binding.name
    if ttype == "httpTrigger":
        route = trigger.route or info.name
        info.route = compile_route("/".join(p for p in (prefix, route.strip("/")) if p))
        info.methods = tuple(_enum_name(m) for m in trigger.methods) if trigger.methods else _ALL_METHODS
    elif ttype == "timerTrigger":
        info.schedule = trigger.schedule
        info.run_on_startup = bool(getattr(trigger, "run_on_startup", False))
    elif ttype == "orchestrationTrigger":
        info.durable_name = getattr(trigger, "orchestration", None) or info.name
    elif ttype == "activityTrigger":
        info.durable_name = getattr(trigger, "activity", None) or info.name
    return info


class FunctionIndex:
    """Everything the host needs from the app, from exactly one `get_functions()` call."""

    def __init__(self, app: Any, route_prefix: str = "") -> None:
        self.app = app
        functions = _get_functions_once(app)
        self.indexing_judge = check_app_functions(functions)  # refuse what the real worker refuses
        self.functions = [_classify(f, route_prefix.strip("/")) for f in functions]
        routed = {id(f.route): f for f in self.functions if f.route is not None}
        self.http = [routed[id(t)] for t in sort_by_precedence([f.route for f in routed.values() if f.route])]
        self.timers = [f for f in self.functions if f.trigger_type == "timerTrigger"]
        self._orchestrators = {
            f.durable_name.lower(): f
            for f in self.functions
            if f.trigger_type == "orchestrationTrigger" and f.durable_name
        }
        self._activities = {
            f.durable_name.lower(): f for f in self.functions if f.trigger_type == "activityTrigger" and f.durable_name
        }

    def orchestrator(self, name: str) -> FunctionInfo | None:
        return self._orchestrators.get(name.lower())

    def activity(self, name: str) -> FunctionInfo | None:
        return self._activities.get(name.lower())

    def match_http(self, method: str, path: str) -> tuple[FunctionInfo | None, dict[str, str], bool]:
        """(function, route values, path_matched): path_matched without a function means 405."""
        path_matched = False
        for info in self.http:
            assert info.route is not None
            values = info.route.match(path)
            if values is None:
                continue
            path_matched = True
            if method.upper() in info.methods:
                return info, values, True
        return None, {}, path_matched

    def allowed_methods(self, path: str) -> list[str]:
        """Methods of the functions whose route matches `path`: the Allow header of a 405."""
        return sorted({m.upper() for info in self.http if info.route and info.route.match(path) for m in info.methods})


def activity_functions(app: Any) -> dict[str, FunctionInfo]:
    """The app's activities by lower-cased durable name: what a worker process needs (no routes, no checks)."""
    infos = (_classify(f, "") for f in _get_functions_once(app) if f.get_trigger().type == "activityTrigger")
    return {info.durable_name.lower(): info for info in infos if info.durable_name}


def _get_functions_once(app: Any) -> list[Any]:
    # get_functions() registers names on the app; a second call raises, so the result is cached per app.
    cached = getattr(app, "_devhost_functions", None)
    if cached is None:
        cached = app.get_functions()
        app._devhost_functions = cached
    return list(cached)


def describe_app(app: Any) -> list[dict[str, Any]]:
    """name, trigger, route, methods, schedule of every function; built from ONE get_functions() call."""
    key = id(app)
    if key not in _describe_cache:
        rows = []
        for function in _get_functions_once(app):
            trigger = function.get_trigger()
            ttype = trigger.type
            route = (trigger.route or function.get_function_name()) if ttype == "httpTrigger" else None
            methods = [_enum_name(m) for m in trigger.methods] if ttype == "httpTrigger" and trigger.methods else None
            rows.append(
                {
                    "name": function.get_function_name(),
                    "trigger": ttype,
                    "route": route,
                    "methods": methods,
                    "schedule": getattr(trigger, "schedule", None),
                }
            )
        _describe_cache[key] = rows
    return _describe_cache[key]
