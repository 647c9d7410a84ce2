"""The served OpenAPI document: exactly the app's HTTP functions, and a schemathesis run with no 5xx."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.support.e2e_api import DevhostServer

pytestmark = pytest.mark.e2e

MIN_CASES = 1000
TIME_BUDGET_SECONDS = 240.0
# Starting backfills from fuzzed bodies would start real orchestrations; POST is covered by the e2e tests.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
SKIPPED = {("POST", "/v1/admin/backfills")}


def _served(devhost_server: DevhostServer) -> dict[str, Any]:
    resp = requests.get(devhost_server.base_url + "/v1/openapi.json", timeout=30)
    assert resp.status_code == 200
    return resp.json()


def test_openapi_lists_exactly_the_apps_http_functions(devhost_server: DevhostServer) -> None:
    import function_app
    from devhost.functions import describe_app  # one cached get_functions() per app object

    functions = {"/" + f["route"]: f["name"] for f in describe_app(function_app.app) if f["trigger"] == "httpTrigger"}
    documented = {path: item["x-function-name"] for path, item in _served(devhost_server)["paths"].items()}
    assert documented == functions


def test_served_document_is_valid_openapi_3_1(devhost_server: DevhostServer) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    validate(_served(devhost_server), cls=OpenAPIV31SpecValidator)


def _fuzz(operation: Any, examples: int, call: Any) -> None:
    """Hypothesis over one operation: valid and invalid cases, each sent to the live server by `call`."""
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        call(case)

    run()


def test_schemathesis_generated_cases_get_no_5xx(devhost_server: DevhostServer) -> None:
    schema = schemathesis.openapi.from_dict(_served(devhost_server))
    headers = {"X-API-Key": devhost_server.operator_key}
    session = requests.Session()
    counts: dict[str, int] = {}
    statuses: dict[int, int] = {}
    started = time.monotonic()
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results), "the served document has operations schemathesis cannot load"
    operations = [op for op in operations if (op.method.upper(), op.path) not in SKIPPED]
    assert len(operations) >= 9
    per_operation = MIN_CASES // len(operations) + 60

    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"

        def call(case: Any, label: str = label) -> None:
            if time.monotonic() - started > TIME_BUDGET_SECONDS:
                return
            response = case.call(base_url=devhost_server.base_url, session=session, headers=headers, timeout=30)
            counts[label] = counts.get(label, 0) + 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=CHECKS)

        _fuzz(operation, per_operation, call)
    session.close()
    total = sum(counts.values())
    print(f"schemathesis: {total} cases, statuses {dict(sorted(statuses.items()))}, per operation {counts}")
    assert not [s for s in statuses if s >= 500]
    assert total >= MIN_CASES, counts
