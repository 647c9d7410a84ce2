"""The functions of function_app (names, triggers, routes, methods, schedule) match docs/api.md and OpenAPI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.bicep import REPO

DUMP = Path(__file__).with_name("function_metadata_dump.py")
TABLE_ROW = re.compile(r"^\| `([A-Za-z0-9_]+)` \| (\w+) \| `?([^|`]*)`? \| ([A-Z, ]*) \|$", re.MULTILINE)
ROUTES_SECTION = re.compile(r"^### Functions and routes\n(.*?)(?=^#|\Z)", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def metadata(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """function_app's metadata, read in a subprocess with embedded backends and no telemetry."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("APPLICATIONINSIGHTS_", "COSMOS_", "BLOB_", "GOLD_"))
    }
    env["DATA_DIR"] = str(tmp_path_factory.mktemp("function-metadata"))
    completed = subprocess.run(
        [sys.executable, str(DUMP)], capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False
    )
    if completed.returncode != 0:
        pytest.fail(f"function_app does not load:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


@pytest.fixture(scope="module")
def functions(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {function["name"]: function for function in metadata["functions"]}


@pytest.fixture(scope="module")
def doc_rows() -> dict[str, tuple[str, str, list[str]]]:
    """docs/api.md's "Functions and routes" table: name -> (trigger, route or schedule, documented methods)."""
    match = ROUTES_SECTION.search((REPO / "docs" / "api.md").read_text(encoding="utf-8"))
    assert match, "docs/api.md has no '### Functions and routes' table"
    rows = TABLE_ROW.findall(match.group(1))
    assert rows, "the '### Functions and routes' table has no row"
    return {
        name: (trigger, target.strip(), [m.strip() for m in methods.split(",") if m.strip()])
        for name, trigger, target, methods in rows
    }


def test_docs_lists_every_function(functions: dict[str, dict[str, Any]], doc_rows: dict[str, Any]) -> None:
    assert set(doc_rows) == set(functions)


def test_docs_trigger_route_and_schedule(
    functions: dict[str, dict[str, Any]], doc_rows: dict[str, tuple[str, str, list[str]]]
) -> None:
    for name, (trigger, target, _methods) in doc_rows.items():
        function = functions[name]
        assert trigger == function["trigger"], name
        if function["trigger"] == "httpTrigger":
            assert target == "/" + function["route"], name
        elif function["trigger"] == "timerTrigger":
            assert target == function["schedule"], name
        else:
            assert target == "", name


def test_timer_schedule_comes_from_the_app_setting(functions: dict[str, dict[str, Any]]) -> None:
    timers = [function for function in functions.values() if function["trigger"] == "timerTrigger"]
    assert [timer["schedule"] for timer in timers] == ["%MATERIALIZE_SCHEDULE%"]


def test_docs_methods_are_the_documented_ones(
    metadata: dict[str, Any],
    functions: dict[str, dict[str, Any]],
    doc_rows: dict[str, tuple[str, str, list[str]]],
) -> None:
    documented = {path["function"]: path["methods"] for path in metadata["openapi"].values()}
    for name, (_trigger, _target, methods) in doc_rows.items():
        function = functions[name]
        if function["trigger"] != "httpTrigger":
            assert methods == [], name
            continue
        assert methods == documented[name], name


def test_documented_methods_are_the_served_ones(metadata: dict[str, Any], functions: dict[str, dict[str, Any]]) -> None:
    """What the app answers (anything but its 405, asked in-process) is the OpenAPI methods plus HEAD for
    GET and OPTIONS (CORS preflight); every served method is also registered with the host."""
    documented = {path["function"]: set(path["methods"]) for path in metadata["openapi"].values()}
    served = metadata["served"]
    assert set(served) == set(documented)
    for name, methods in documented.items():
        expected = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
        assert set(served[name]) == expected, name
        assert set(served[name]) <= set(functions[name]["methods"]), f"{name}: registered {functions[name]['methods']}"


def test_openapi_paths_match_http_functions(metadata: dict[str, Any], functions: dict[str, dict[str, Any]]) -> None:
    http = {function["name"]: "/" + function["route"] for function in functions.values() if function["route"]}
    openapi = {path: item["function"] for path, item in metadata["openapi"].items()}
    assert {name: path for path, name in openapi.items()} == http
