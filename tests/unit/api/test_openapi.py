"""The OpenAPI document: 3.1, every HTTP function of the API blueprints, problem+json, both security schemes."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import backfills, docs, explorer, export, health, production, quarantine, regions
from api.openapi import build_document, documented_routes

# The same modules as function_app.API_MODULES (importing function_app would configure logging process-wide);
# tests/integration/infra/test_function_metadata.py checks the served document against function_app's own functions.
API_MODULES = (health, regions, production, export, backfills, quarantine, docs, explorer)


def openapi_document() -> dict[str, Any]:
    return build_document(op for module in API_MODULES for op in module.OPERATIONS)


def _http_functions() -> dict[str, str]:
    """Route → function name of a fresh app holding only the API blueprints (get_functions works once per app)."""
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for module in API_MODULES:
        app.register_functions(module.bp)
    routes: dict[str, str] = {}
    for function in app.get_functions():
        for binding in function.get_bindings():
            if binding.type == "httpTrigger":
                routes["/" + binding.route] = function.get_function_name()
    return routes


def test_document_lists_exactly_the_http_functions() -> None:
    assert documented_routes(openapi_document()) == _http_functions()


def test_openapi_module_imports_no_route_module() -> None:
    """The document takes the operations it is given: api/openapi.py names no route module."""
    import ast
    import inspect

    from api import openapi

    imported: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(openapi))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    assert not imported & {module.__name__ for module in API_MODULES}


def test_every_operation_documents_problem_responses_and_security() -> None:
    doc = openapi_document()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    assert doc["components"]["securitySchemes"]["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    public = {"/v1/health", "/v1/openapi.json", "/v1/docs", "/v1/docs/assets/{asset}", "/explorer"}
    public.add("/explorer/assets/{asset}")
    operation_ids = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method.startswith("x-"):
                continue
            operation_ids.append(op["operationId"])
            assert "application/problem+json" in op["responses"]["500"]["content"]
            if path in public:
                assert op["security"] == []
            else:
                assert op["security"] == [{"ApiKey": []}, {"Bearer": []}]
                assert {"401", "403"} <= set(op["responses"])
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path and param["required"]
    assert len(operation_ids) == len(set(operation_ids))


def test_query_parameters_carry_their_constraints() -> None:
    params = {p["name"]: p for p in openapi_document()["paths"]["/v1/production/regional"]["get"]["parameters"]}
    assert params["start_date"]["required"] and params["start_date"]["schema"]["format"] == "date"
    assert params["limit"]["schema"]["maximum"] == 5000 and params["limit"]["schema"]["minimum"] == 1
    assert set(params["granularity"]["schema"]["enum"]) == {"30min", "hour", "day"}
    assert "nucleaire" in params["source_type"]["schema"]["enum"]
    assert len(params["region_code"]["schema"]["enum"]) == 12 and not params["region_code"]["required"]


def test_every_ref_resolves() -> None:
    doc = openapi_document()
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    for ref in refs:
        target: object = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, ref
            target = target[part]


def test_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    validate(openapi_document(), cls=OpenAPIV31SpecValidator)
