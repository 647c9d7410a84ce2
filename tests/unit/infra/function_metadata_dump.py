"""Print the function metadata of function_app.app (and the OpenAPI document it serves) as JSON.

Run in a subprocess by test_function_metadata.py so that importing the composition root (and its
module-level setup) stays out of the test process. Usage: `python function_metadata_dump.py` from the
repository root. Output: {"functions": [{name, trigger, route, methods, schedule}], "openapi": {...}}.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import azure.functions as func

import function_app

OPENAPI_ROUTE = "v1/openapi.json"
HTTP_VERBS = {"get", "put", "post", "delete", "patch", "head", "options"}


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


def openapi_document(functions: list[Any]) -> dict[str, Any]:
    """Call the real /v1/openapi.json handler in-process and return its body."""
    for function in functions:
        if function.get_trigger().get_dict_repr().get("route") == OPENAPI_ROUTE:
            handler = function.get_user_function()
            request = func.HttpRequest(method="GET", url=f"http://127.0.0.1:7071/{OPENAPI_ROUTE}", body=b"", headers={})
            response = handler(request)
            if inspect.iscoroutine(response):
                response = asyncio.run(response)
            document: dict[str, Any] = json.loads(response.get_body())
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
    json.dump({"functions": [describe(function) for function in functions], "openapi": paths}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
