"""CLI: local settings, and the commands and serve options the app's hooks add."""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from devhost import cli
from devhost.app_hooks import AppHooks


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
