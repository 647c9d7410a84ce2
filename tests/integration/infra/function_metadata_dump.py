"""Print the function metadata of function_app.app (and the OpenAPI document it serves) as JSON.

Run in a subprocess by test_function_metadata.py so that importing the composition root (and its
module-level setup) stays out of the test process. Usage: `python function_metadata_dump.py` from the
repository root. Output: {"functions": [{name, trigger, route, methods, schedule}], "openapi": {...},
"served": {name: methods answered without 405}}.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import azure.functions as func

import function_app
from devhost.durable_api import client_binding

OPENAPI_ROUTE = "v1/openapi.json"
HTTP_VERBS = {"get", "put", "post", "delete", "patch", "head", "options"}
UNREACHABLE = "http://127.0.0.1:9"
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def describe(function: Any) -> dict[str, Any]:
    trigger = function.get_trigger().get_dict_repr()
    methods = trigger.get("methods")
    return {
        "name": function.get_function_name(),
        "trigger": trigger["type"],
        "route": trigger.get("route"),
        "methods": sorted(_value(method).upper() for method in methods) if methods else None,
        "schedule": trigger.get("schedule"),
    }


def call(function: Any, method: str) -> func.HttpResponse:
    """Invoke one HTTP function in-process without credentials, route parameters set to "x"."""
    route = function.get_trigger().get_dict_repr()["route"]
    params = {name: "x" for name in re.findall(r"\{(\w+)", route)}
    request = func.HttpRequest(
        method=method, url=f"http://127.0.0.1:7071/{route}", body=b"", headers={}, route_params=params
    )
    # A durable client binding gets a client of an unreachable host: unauthenticated calls never use it.
    clients = {b.name: client_binding(UNREACHABLE) for b in function.get_bindings() if b.type == "durableClient"}
    response = function.get_user_function()(request, **clients)
    if inspect.iscoroutine(response):
        response = asyncio.run(response)
    result: func.HttpResponse = response
    return result


def served_methods(function: Any) -> list[str]:
    """The methods the app answers with anything but 405 (its own method check, before auth)."""
    return sorted(method for method in ALL_METHODS if call(function, method).status_code != 405)


def openapi_document(functions: list[Any]) -> dict[str, Any]:
    """Call the real /v1/openapi.json handler in-process and return its body."""
    for function in functions:
        if function.get_trigger().get_dict_repr().get("route") == OPENAPI_ROUTE:
            document: dict[str, Any] = json.loads(call(function, "GET").get_body())
            return document
    raise LookupError(f"no function serves {OPENAPI_ROUTE}")


def main() -> int:
    functions = function_app.app.get_functions()
    document = openapi_document(functions)
    paths = {
        path: {
            "function": item.get("x-function-name"),
            "methods": sorted(verb.upper() for verb in item if verb in HTTP_VERBS),
        }
        for path, item in document["paths"].items()
    }
    served = {
        function.get_function_name(): served_methods(function)
        for function in functions
        if function.get_trigger().get_dict_repr()["type"] == "httpTrigger"
    }
    described = [describe(function) for function in functions]
    json.dump({"functions": described, "openapi": paths, "served": served}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
