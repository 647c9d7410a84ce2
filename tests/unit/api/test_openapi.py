"""The OpenAPI document: 3.1, every HTTP function of the API blueprints, problem+json, both security schemes."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api.openapi import build_document, documented_routes

REPO = Path(__file__).resolve().parents[3]


def _api_modules() -> tuple[ModuleType, ...]:
    """function_app.API_MODULES, read from its source: importing function_app configures logging process-wide."""
    tree = ast.parse((REPO / "function_app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "API_MODULES" for t in node.targets):
            assert isinstance(node.value, ast.Tuple)
            return tuple(
                importlib.import_module(f"api.{name.id}") for name in node.value.elts if isinstance(name, ast.Name)
            )
    raise AssertionError("function_app.py has no API_MODULES")


API_MODULES = _api_modules()


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
    public |= {"/explorer/assets/{asset}", "/v1/methodologies"}
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
    assert len(params["region_code"]["schema"]["enum"]) == 13 and not params["region_code"]["required"]
    assert params["region_code"]["schema"]["enum"][-1] == "FR"  # France as a whole, wherever a region is taken


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


def test_info_has_an_ascii_title_and_the_data_licence() -> None:
    info = openapi_document()["info"]
    assert info["title"].isascii() and "eCO2mix" in info["title"]
    assert info["license"]["name"].startswith("Licence Ouverte / Open Licence 2.0")
    assert info["license"]["url"].startswith("https://") and "identifier" not in info["license"]  # one or other


# Text fields named like a day or an instant; the ones listed here are neither (a zone name, a month, a status).
_DATE_LIKE = re.compile(r"(^|_)(date|day|time|timestamp|at|seen|watermark|from|to)$")
_NOT_DATES = {"timezone", "runtime_status"}


def test_every_date_and_timestamp_field_carries_its_format() -> None:
    missing: list[str] = []
    for model, schema in openapi_document()["components"]["schemas"].items():
        for name, prop in (schema.get("properties") or {}).items():
            text = [b for b in prop.get("anyOf", [prop]) if b.get("type") == "string"]
            dated = _DATE_LIKE.search(name) and name not in _NOT_DATES
            if dated and text and not all(b.get("format") in ("date", "date-time") for b in text):
                missing.append(f"{model}.{name}")
    assert missing == []


def test_redirects_document_their_target() -> None:
    redirects = [
        op["responses"]["302"]
        for item in openapi_document()["paths"].values()
        for method, op in item.items()
        if not method.startswith("x-") and "302" in op["responses"]
    ]
    assert redirects  # the export operations
    for response in redirects:
        location = response["headers"]["Location"]
        assert location["required"] and location["schema"] == {"type": "string", "format": "uri"}
        assert "text/csv" in response["description"] and "application/vnd.apache.parquet" in response["description"]
