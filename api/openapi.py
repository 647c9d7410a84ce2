"""The OpenAPI 3.1 document, generated from the `Operation`s each route module keeps next to its `Route`s.

This module imports no route module: the composition root hands every module's `OPERATIONS` to api/docs.py.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import schemas
from api.auth import API_KEY_HEADER, Role
from api.http import Route

VERSION = "1.0.0"
DATA_LICENCE_NAME = "Licence Ouverte / Open Licence 2.0 (Etalab)"
DATA_LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
_REF = "#/components/schemas/{model}"
_JSON = "application/json"
_PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Operation:
    route: Route
    method: str
    operation_id: str
    summary: str
    query: type[BaseModel] | None = None
    path: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    ok_status: int = 200
    ok_model: type[BaseModel] | None = None
    ok_headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    conditional: bool = False  # ETag / If-None-Match → 304
    extra_responses: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """An outgoing request the API makes (OpenAPI 3.1 `webhooks`): its name, summary, body model and story."""

    name: str
    summary: str
    body: type[BaseModel]
    description: str


STRING: dict[str, Any] = {"type": "string"}
_WEBHOOK_HEADERS = (
    ("webhook-id", "The delivery's id: the same on every redelivery of a batch (deduplicate on it)"),
    ("webhook-timestamp", "Unix seconds when this attempt was signed (reject old ones)"),
    ("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` (Standard Webhooks)"),
)


def _webhook(event: WebhookEvent) -> dict[str, Any]:
    return {
        "post": {
            "operationId": "webhook_" + event.name.replace(".", "_"),
            "summary": event.summary,
            "description": event.description,
            "parameters": [
                {"name": name, "in": "header", "required": True, "description": text, "schema": STRING}
                for name, text in _WEBHOOK_HEADERS
            ],
            "requestBody": {
                "required": True,
                "content": {_JSON: {"schema": {"$ref": _REF.format(model=event.body.__name__)}}},
            },
            "responses": {
                "2XX": {"description": "Received: the delivery is acknowledged and the next one follows"},
                "default": {"description": "Not received (a redirect included): retried with back-off up to a day"},
            },
        }
    }


def content(description: str, **schemas_by_type: dict[str, Any]) -> dict[str, Any]:
    """A response with one schema per media type (keyword `text_html` stands for text/html)."""
    body = {ctype.replace("_", "/"): {"schema": schema} for ctype, schema in schemas_by_type.items()}
    return {"description": description, "content": body}


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


_DESCRIPTIONS = {
    304: "Not modified (If-None-Match matched the ETag)",
    400: "Invalid parameters",
    401: "Missing or invalid credentials",
    403: "The caller's role does not allow this operation",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the resource's state",
    413: "Body too large",
    415: "Unsupported media type",
    429: "Too many requests (per credential; per client address on public routes and after refused credentials;"
    " per instance); see Retry-After and RateLimit",
    503: "Temporarily unavailable (e.g. bearer signing keys cannot be fetched); see Retry-After",
    500: "Unexpected error",
}


def _strip_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Query/path parameters are strings or absent, never JSON null: drop the null branch."""
    options = schema.get("anyOf")
    if options:
        non_null = [o for o in options if o.get("type") != "null"]
        if len(non_null) == 1:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return {**non_null[0], **rest}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def _parameters(model: type[BaseModel], location: str) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = _strip_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": location, "required": location == "path" or name in required}
        if description:
            param["description"] = description
        param["schema"] = prop
        refuses_empty = prop.pop("x-empty-value-refused", False)
        if location == "query" and not param["required"] and not refuses_empty:
            # The Functions host drops empty query values (ToRpcHttp), on every route: `?status=` is the
            # parameter left out.
            param["allowEmptyValue"] = True
        params.append(param)
    return params


_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "Retry-After": {"description": "Seconds until a request is allowed", "schema": {"type": "integer"}},
    "RateLimit-Policy": {"description": "draft-ietf-httpapi-ratelimit-headers policy", "schema": STRING},
    "RateLimit": {"description": "draft-ietf-httpapi-ratelimit-headers state", "schema": STRING},
}


def _problem(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
    if status == 429:
        headers |= copy.deepcopy(_RATE_LIMIT_HEADERS)
    elif status == 503:
        headers["Retry-After"] = copy.deepcopy(_RATE_LIMIT_HEADERS["Retry-After"])
    return {
        "description": _DESCRIPTIONS.get(status, "Error"),
        "headers": headers,
        "content": {_PROBLEM: {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


def _tag(path: str) -> str:
    """The first segment after the version: /v1/export/csv -> export; /explorer -> explorer."""
    segments = [s for s in path.split("/") if s]
    return segments[1] if segments[0] == "v1" and len(segments) > 1 else segments[0]


# The target of every 302: what a client finds at Location (generated clients do not follow redirects).
_REDIRECT = (
    "Found: `Location` is a signed, read-only URL of the file, valid a few minutes; GET it without "
    "credentials. The file: CSV as text/csv (UTF-8 with BOM, `;` separated, decimal comma, a header row) or "
    "Parquet as application/vnd.apache.parquet (typed columns, timestamps with their time zone)."
)


def _redirect_headers() -> dict[str, Any]:
    return {
        "Location": {
            "description": "The signed link to the file (absolute URL)",
            "required": True,
            "schema": {"type": "string", "format": "uri"},
        },
        "X-Request-ID": {"$ref": "#/components/headers/RequestId"},
    }


def _operation(op: Operation) -> dict[str, Any]:
    public = all(role is None for role in op.route.methods.values()) or op.route.methods.get(op.method) is None
    responses: dict[str, Any] = {}
    if op.ok_model is not None:
        headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
        for name in op.ok_headers:
            headers[name] = {"schema": {"type": "string"}}
        if op.conditional:
            headers["ETag"] = {"schema": {"type": "string"}}
            headers["Cache-Control"] = {"schema": {"type": "string"}}
        responses[str(op.ok_status)] = {
            "description": op.summary,
            "headers": headers,
            "content": {_JSON: {"schema": {"$ref": _REF.format(model=op.ok_model.__name__)}}},
        }
    elif op.ok_status == 302:
        responses["302"] = {"description": _REDIRECT, "headers": _redirect_headers()}
    responses |= copy.deepcopy(op.extra_responses)
    if op.conditional:
        responses["304"] = {"description": _DESCRIPTIONS[304]}
    statuses = set(op.errors) | {429, 500}  # every route is rate limited: per credential, else per address
    if op.path is not None or op.query is not None or op.body is not None:
        statuses.add(400)
    if not public:
        statuses |= {401, 403, 503}
    for status in sorted(statuses):
        responses[str(status)] = _problem(status)
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [_tag(op.route.path)],
        "responses": responses,
        "security": [] if public else [{"ApiKey": []}, {"Bearer": []}],
    }
    required_role = op.route.methods.get(op.method)
    if isinstance(required_role, Role):
        operation["x-required-role"] = required_role.name
    parameters: list[dict[str, Any]] = []
    if op.path is not None:
        parameters += _parameters(op.path, "path")
    if op.query is not None:
        parameters += _parameters(op.query, "query")
    if op.conditional:
        parameters.append({"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}})
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {_JSON: {"schema": {"$ref": _REF.format(model=op.body.__name__)}}},
        }
    return operation


def _components(operations: Sequence[Operation], events: Sequence[WebhookEvent] = ()) -> dict[str, Any]:
    """The schemas of every model an operation or a webhook names (and the models they nest), plus Problem."""
    models: dict[str, type[BaseModel]] = {"Problem": schemas.Problem}
    for op in operations:
        for model in (op.ok_model, op.body):
            if model is not None:
                models.setdefault(model.__name__, model)
    for event in events:
        models.setdefault(event.body.__name__, event.body)
    _, top = models_json_schema([(m, "validation") for m in models.values()], ref_template=_REF)
    return top.get("$defs", {})


def build_document(operations: Iterable[Operation], events: Iterable[WebhookEvent] = ()) -> dict[str, Any]:
    """The document served at /v1/openapi.json, from the operations each route module keeps next to its routes
    and the webhooks the API sends (OpenAPI 3.1 `webhooks`)."""
    operations, events = tuple(operations), tuple(events)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item = paths.setdefault(op.route.path, {"x-function-name": op.route.function_name})
        item[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            # ASCII: generated clients derive their package name from the title.
            "title": "eCO2mix regional electricity API",
            "version": VERSION,
            # The data's licence, as ODRE publishes the eCO2mix regional datasets (see the description).
            "license": {"name": DATA_LICENCE_NAME, "url": DATA_LICENCE_URL},
            "description": (
                "Precomputed RTE éCO2mix regional data: 12 metropolitan regions and France as a whole (FR, their "
                "sum), half-hourly production by "
                "source, consumption, load factors and carbon intensity. Power in MW, energy in MWh, load "
                "factor in %, carbon intensity in gCO2eq/kWh; a missing value is null, never zero. "
                "Source: RTE éCO2mix via ODRÉ, whose éCO2mix regional datasets are "
                "published under the Licence Ouverte / Open Licence 2.0 (Etalab): reuse with attribution "
                '"RTE éCO2mix via ODRÉ" and the date of the data\'s last update (`data_last_updated` of '
                "/v1/methodologies, public). RTE's own download files carry their own terms."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        **({"webhooks": {e.name: _webhook(e) for e in events}} if events else {}),
        "components": {
            "schemas": _components(operations, events),
            "headers": {"RequestId": {"description": "Request id (echoed or generated)", "schema": {"type": "string"}}},
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
                "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Entra ID)"},
            },
        },
    }


def documented_routes(document: dict[str, Any]) -> dict[str, str]:
    """Path → Functions function name, as the document lists them."""
    return {path: item["x-function-name"] for path, item in document["paths"].items()}
