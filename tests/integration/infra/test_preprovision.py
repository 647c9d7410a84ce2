"""The preprovision hook registers the Microsoft.App resource provider (Flex Consumption VNet integration)
when it is not registered, and never blocks provisioning. It runs for real (sh); `az` is a recording
stand-in on PATH."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.bicep import REPO

HOOK = REPO / "infra" / "scripts" / "preprovision.sh"
WINDOWS_HOOK = REPO / "infra" / "scripts" / "preprovision.ps1"


@pytest.fixture
def fake_az(tmp_path: Path) -> Path:
    """An `az` that appends each call's arguments (one line) to a file; `show` prints $FAKE_STATE, and
    exits with $FAKE_SHOW_EXIT; `register` exits with $FAKE_REGISTER_EXIT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "az-calls"
    script = bin_dir / "az"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{calls}"\n'
        'case "$2" in\n'
        '  show) [ "${FAKE_SHOW_EXIT:-0}" = 0 ] && echo "${FAKE_STATE:-NotRegistered}"; exit "${FAKE_SHOW_EXIT:-0}";;\n'
        '  register) exit "${FAKE_REGISTER_EXIT:-0}";;\n'
        "esac\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return calls


def run_hook(env: dict[str, str], bin_dir: Path | None) -> subprocess.CompletedProcess[str]:
    path = f"{bin_dir}:/usr/bin:/bin" if bin_dir else "/usr/bin:/bin"
    return subprocess.run(
        ["sh", str(HOOK)], env={"PATH": path, **env}, capture_output=True, text=True, timeout=30, check=False
    )


def _calls(calls: Path) -> list[str]:
    return calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []


def test_registered_provider_is_left_alone(fake_az: Path) -> None:
    completed = run_hook({"FAKE_STATE": "Registered", "AZURE_SUBSCRIPTION_ID": "sub-1"}, fake_az.parent / "bin")
    assert completed.returncode == 0
    assert _calls(fake_az) == [
        "provider show --namespace Microsoft.App --query registrationState -o tsv --subscription sub-1"
    ]


def test_unregistered_provider_is_registered_and_awaited(fake_az: Path) -> None:
    completed = run_hook({"FAKE_STATE": "NotRegistered", "AZURE_SUBSCRIPTION_ID": "sub-1"}, fake_az.parent / "bin")
    assert completed.returncode == 0
    assert _calls(fake_az)[-1] == "provider register --namespace Microsoft.App --wait --subscription sub-1"
    assert "registering the Microsoft.App resource provider" in completed.stdout


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"FAKE_SHOW_EXIT": "1", "FAKE_REGISTER_EXIT": "1"}, id="az-not-logged-in"),
        pytest.param({"FAKE_STATE": "NotRegistered", "FAKE_REGISTER_EXIT": "1"}, id="register-refused"),
    ],
)
def test_az_failures_print_the_command_and_do_not_block(fake_az: Path, env: dict[str, str]) -> None:
    completed = run_hook(env, fake_az.parent / "bin")
    assert completed.returncode == 0
    assert "az provider register --namespace Microsoft.App" in completed.stderr


def test_without_az_it_says_what_to_run() -> None:
    if any((Path(d) / "az").exists() for d in ("/usr/bin", "/bin")):
        pytest.skip("a real az is installed on this machine")
    completed = run_hook({"AZURE_SUBSCRIPTION_ID": "sub-1"}, None)
    assert completed.returncode == 0
    assert "az provider register --namespace Microsoft.App --subscription sub-1" in completed.stderr


def test_azure_yaml_runs_both_variants() -> None:
    document: dict[str, Any] = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    hook = document["hooks"]["preprovision"]
    assert (REPO / hook["posix"]["run"]).resolve() == HOOK
    assert (REPO / hook["windows"]["run"]).resolve() == WINDOWS_HOOK
    assert hook["windows"]["shell"] == "pwsh"
    assert HOOK.stat().st_mode & 0o100


# pwsh is not installed here: the Windows hook is held to the same az calls and messages.
@pytest.mark.parametrize(
    "fragment",
    [
        "az provider show --namespace Microsoft.App --query registrationState -o tsv @subscriptionArgs",
        "az provider register --namespace Microsoft.App --wait @subscriptionArgs",
        "$env:AZURE_SUBSCRIPTION_ID",
        "-eq 'Registered'",
        "could not register Microsoft.App",
        "Azure CLI (az) not found",
    ],
)
def test_windows_hook_mirrors_the_posix_one(fragment: str) -> None:
    assert fragment in WINDOWS_HOOK.read_text(encoding="utf-8")
