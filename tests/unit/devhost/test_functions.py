"""Function index, describe_app, app-setting expressions and NCRONTAB schedules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.functions import FunctionIndex, describe_app, read_route_prefix, resolve_setting_expressions
from devhost.timers import next_fire
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
    ("expression", "env", "expected"),
    [
        ("%TICK%", {"TICK": "0 */5 * * * *"}, "0 */5 * * * *"),
        ("0 0 %HOUR% * * *", {"HOUR": "3"}, "0 0 3 * * *"),
        ("%UNSET_SETTING_XYZ%", {}, "%UNSET_SETTING_XYZ%"),
        ("%MATERIALIZE_SCHEDULE%", {}, "0 */15 * * * *"),  # falls back to the app's typed Settings default
    ],
)
def test_setting_expressions(expression: str, env: dict[str, str], expected: str) -> None:
    assert resolve_setting_expressions(expression, env) == expected


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("0 */15 * * * *", datetime(2024, 1, 1, 0, 7, tzinfo=UTC), datetime(2024, 1, 1, 0, 15, tzinfo=UTC)),
        ("*/10 * * * * *", datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 10, tzinfo=UTC)),
        ("30 2 * * *", datetime(2024, 1, 1, 3, 0, tzinfo=UTC), datetime(2024, 1, 2, 2, 30, tzinfo=UTC)),
    ],
)
def test_ncrontab_seconds_come_first(schedule: str, after: datetime, expected: datetime) -> None:
    assert next_fire(schedule, after) == expected


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
