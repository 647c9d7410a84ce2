"""CLI: local settings, and the commands and serve options the app's hooks add."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
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


def test_devhost_data_files_and_folders_are_not_world_readable(tmp_path: Path) -> None:
    """`python -m devhost` under the common umask 022 sets its own (077): the Gold DB an import creates under
    DATA_DIR (SQLite makes its files 0644 otherwise), and DATA_DIR itself, are the user's alone."""
    data = tmp_path / "data"
    fixture = Path(__file__).parents[2] / "fixtures" / "eco2mix" / "odre_tr_paca_2019.csv"
    env = {**os.environ, "DATA_DIR": str(data)}
    env.pop("GOLD_SQLITE_PATH", None)
    done = subprocess.run(
        [sys.executable, "-m", "devhost", "gold", "import", str(fixture)],
        env=env,
        umask=0o022,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    created = [data, *data.rglob("*")]
    assert any(p.name == "gold.sqlite" for p in created)
    assert {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode) & 0o077) for p in created} == {
        str(p.relative_to(tmp_path)): "0o0" for p in created
    }
