"""Function index, describe_app, app-setting expressions and NCRONTAB schedules."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.functions import FunctionIndex, describe_app, read_route_prefix, resolve_setting_expressions
from tests.fixtures.devhost_apps import scenarios


def test_describe_app_lists_every_function_once() -> None:
    rows = {r["name"]: r for r in describe_app(scenarios.app)}
    assert describe_app(scenarios.app) is describe_app(scenarios.app)  # cached: get_functions() ran once
    assert rows["echo"] == {
        "name": "echo",
        "trigger": "httpTrigger",
        "route": "echo/{item:int}/{rest?}",
        "methods": ["GET", "PUT"],
        "schedule": None,
    }
    assert rows["tick"]["trigger"] == "timerTrigger" and rows["tick"]["schedule"] == "%TICK_SCHEDULE%"
    assert rows["sequence"]["trigger"] == "orchestrationTrigger" and rows["double"]["trigger"] == "activityTrigger"


def test_index_classifies_triggers_and_bindings() -> None:
    index = FunctionIndex(scenarios.app, route_prefix="api")
    starter = next(f for f in index.functions if f.name == "http_start")
    assert starter.client_binding == "client" and starter.methods == ("POST",)
    assert index.orchestrator("SEQUENCE") is not None and index.activity("Double") is not None  # case-insensitive
    assert index.activity("sequence") is None
    info, values, matched = index.match_http("GET", "/api/echo/5")
    assert info is not None and info.name == "echo" and values == {"item": "5"} and matched
    assert index.match_http("DELETE", "/api/echo/5")[2] is True and index.match_http("DELETE", "/api/echo/5")[0] is None


@pytest.mark.parametrize(
    ("name", "has_return"),
    [("echo", True), ("http_start", True), ("sequence", True), ("double", True), ("tick", False)],
)
def test_index_knows_which_functions_keep_their_result(name: str, has_return: bool) -> None:
    # HTTP: the "$return" binding; orchestrator and activity triggers: implicit outputs; a timer: none.
    info = next(f for f in FunctionIndex(scenarios.app).functions if f.name == name)
    assert info.has_return is has_return


@pytest.mark.parametrize(
    ("expression", "env", "expected"),
    [
        ("%TICK%", {"TICK": "0 */5 * * * *"}, "0 */5 * * * *"),
        ("0 0 %HOUR% * * *", {"HOUR": "3"}, "0 0 3 * * *"),
        ("%UNSET_SETTING_XYZ%", {}, "%UNSET_SETTING_XYZ%"),
        ("%DEFAULTED%", {}, "from the app's default"),  # absent from the environment: the hooks' default
        ("%DEFAULTED%", {"DEFAULTED": "set"}, "set"),
    ],
)
def test_setting_expressions(expression: str, env: dict[str, str], expected: str) -> None:
    defaults = {"DEFAULTED": "from the app's default"}
    assert resolve_setting_expressions(expression, env, defaults.get) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "api"),
        ('{"extensions": {"http": {"routePrefix": ""}}}', ""),
        ('{"extensions": {"http": {"routePrefix": "/x/"}}}', "x"),
    ],
)
def test_route_prefix_from_host_json(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "host.json"
    if content is not None:
        path.write_text(content)
    assert read_route_prefix(path) == expected
