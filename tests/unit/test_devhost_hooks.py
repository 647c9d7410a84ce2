"""This app's devhost hooks: generated API keys, Gold commands, settings defaults, problem URNs."""

from __future__ import annotations

from pathlib import Path

import pytest

import devhost_hooks
from bench.devhost_process import ApiKeys
from devhost.app_hooks import load_hooks
from devhost.cli import build_parser


def test_the_default_hooks_module_is_this_apps() -> None:
    assert load_hooks(None) is devhost_hooks.hooks


def test_api_keys_are_created_only_when_unset() -> None:
    env: dict[str, str] = {}
    keys = devhost_hooks.ensure_api_keys(env)
    assert set(keys) == {"reader", "operator"} and keys["reader"] != keys["operator"]
    expected = ApiKeys(reader=keys["reader"], operator=keys["operator"]).env_value
    assert env["API_KEYS"] == expected
    assert devhost_hooks.ensure_api_keys(env) == {} and env["API_KEYS"] == expected


def test_gold_import_of_a_bad_file_exits_non_zero_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not;an;eco2mix;file\n1;2;3;4\n")
    monkeypatch.setattr(devhost_hooks, "_gold_path", lambda: tmp_path / "gold.sqlite")
    args = build_parser(devhost_hooks.hooks).parse_args(["gold", "import", str(bad)])
    assert devhost_hooks.hooks.run_command(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_gold_commands_and_the_sample_option_are_parsed() -> None:
    parser = build_parser(devhost_hooks.hooks)
    gold = parser.parse_args(["gold", "sample", "--years", "2"])
    assert (gold.command, gold.gold_command, gold.years) == ("gold", "sample", 2)
    assert parser.parse_args(["serve", "--no-sample"]).sample is False
    assert devhost_hooks.hooks.run_command(parser.parse_args(["serve"])) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("MATERIALIZE_SCHEDULE", "0 */15 * * * *"), ("NOT_A_SETTING_XYZ", None)],
)
def test_settings_default_to_the_apps_typed_settings(name: str, expected: str | None) -> None:
    assert devhost_hooks.hooks.setting_default(name) == expected


def test_problem_types_are_the_apps_urns() -> None:
    assert devhost_hooks.hooks.problem_type("Method Not Allowed") == "urn:eco2mix:problem:method-not-allowed"
