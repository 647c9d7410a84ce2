"""CLI: local settings, the app's hooks loaded and asked for their commands and serve options."""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from devhost import cli
from devhost.app_hooks import AppHooks, load_hooks


def test_local_settings_do_not_override_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {"A": "from-file", "B": "from-file", "EMPTY": ""}}))
    env = {"A": "from-env"}
    assert cli.load_local_settings(path, env) == ["B"]
    assert env == {"A": "from-env", "B": "from-file"}
    assert cli.load_local_settings(tmp_path / "absent.json", env) == []


class CountingHooks(AppHooks):
    """Adds `hello` and `serve --greeting`; remembers what it was asked."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def add_commands(self, commands: Any) -> None:
        commands.add_parser("hello").add_argument("--times", type=int, default=1)

    def run_command(self, args: argparse.Namespace) -> int | None:
        if args.command != "hello":
            return None
        self.ran.append(f"hello x{args.times}")
        return 7

    def add_serve_options(self, serve: argparse.ArgumentParser) -> None:
        serve.add_argument("--greeting", default="hi")


@pytest.fixture
def hooks_module(monkeypatch: pytest.MonkeyPatch) -> CountingHooks:
    module = types.ModuleType("counting_hooks_for_tests")
    module.hooks = CountingHooks()  # type: ignore[attr-defined]
    module.not_hooks = object()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    hooks: CountingHooks = module.hooks
    return hooks


def test_parser_has_the_generic_serve_options_and_what_the_hooks_add(hooks_module: CountingHooks) -> None:
    args = cli.build_parser(hooks_module).parse_args(
        ["serve", "--port", "9000", "--no-run-timers-at-start", "--greeting", "yo"]
    )
    assert (args.command, args.port, args.run_timers_at_start, args.greeting) == ("serve", 9000, False, "yo")
    with pytest.raises(SystemExit):
        cli.build_parser(AppHooks()).parse_args(["serve", "--greeting", "yo"])  # no hooks: no such option


def test_a_command_of_the_hooks_runs_through_main(hooks_module: CountingHooks) -> None:
    assert cli.main(["--hooks", "counting_hooks_for_tests:hooks", "hello", "--times", "2"]) == 7
    assert hooks_module.ran == ["hello x2"]
    with pytest.raises(SystemExit):
        cli.main(["--hooks", "counting_hooks_for_tests:hooks", "gold", "sample"])  # not this app's command


def test_hooks_are_loaded_by_name_and_checked(hooks_module: CountingHooks) -> None:
    assert load_hooks("counting_hooks_for_tests:hooks") is hooks_module
    assert load_hooks("counting_hooks_for_tests") is hooks_module  # attr defaults to `hooks`
    with pytest.raises(TypeError, match="not an AppHooks"):
        load_hooks("counting_hooks_for_tests:not_hooks")
    with pytest.raises(ModuleNotFoundError):
        load_hooks("no_such_hooks_module:hooks")  # named explicitly: a typo is an error


def test_without_a_hooks_module_the_host_is_generic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devhost.app_hooks.DEFAULT_HOOKS", "no_such_hooks_module:hooks")
    hooks = load_hooks(None)
    assert type(hooks) is AppHooks
    assert (hooks.problem_type("Not Found"), hooks.setting_default("X")) == ("about:blank", None)
    assert hooks.routes(lambda status, title, detail: web.Response(status=status)) == []
