"""CLI helpers: local settings, generated API keys, gold import errors without a traceback."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from devhost import cli


def test_local_settings_do_not_override_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {"A": "from-file", "B": "from-file", "EMPTY": ""}}))
    env = {"A": "from-env"}
    assert cli.load_local_settings(path, env) == ["B"]
    assert env == {"A": "from-env", "B": "from-file"}
    assert cli.load_local_settings(tmp_path / "absent.json", env) == []


def test_api_keys_are_created_only_when_unset() -> None:
    env: dict[str, str] = {}
    keys = cli.ensure_api_keys(env)
    assert set(keys) == {"reader", "operator"} and keys["reader"] != keys["operator"]
    expected = ",".join(f"{role}:{hashlib.sha256(keys[role].encode()).hexdigest()}" for role in ("reader", "operator"))
    assert env["API_KEYS"] == expected
    assert cli.ensure_api_keys(env) == {} and env["API_KEYS"] == expected


def test_gold_import_of_a_bad_file_exits_non_zero_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not;an;eco2mix;file\n1;2;3;4\n")
    monkeypatch.setattr(cli, "_gold_path", lambda: tmp_path / "gold.sqlite")
    assert cli.cmd_gold_import([bad]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_parser_defaults_to_serve_options() -> None:
    args = cli.build_parser().parse_args(["serve", "--port", "9000", "--no-run-timers-at-start"])
    assert (args.command, args.port, args.run_timers_at_start) == ("serve", 9000, False)
    gold = cli.build_parser().parse_args(["gold", "sample", "--years", "2"])
    assert (gold.gold_command, gold.years) == ("sample", 2)
