"""Settings come from the environment by exact name, keyword arguments first, validated like any field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings

REPO = Path(__file__).resolve().parents[3]


def test_each_field_reads_the_variable_of_its_exact_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE_READS_ASYNC", "false")
    monkeypatch.setenv("RATE_LIMIT_REQUESTS", "7")
    monkeypatch.setenv("GOLD_SQLITE_PATH", "/data/gold.sqlite")
    monkeypatch.setenv("cosmos_endpoint", "https://lowercase.example")  # another name: not this setting
    monkeypatch.setenv("NOT_A_SETTING", "ignored")
    settings = Settings()
    assert settings.STORE_READS_ASYNC is False
    assert settings.RATE_LIMIT_REQUESTS == 7
    assert str(settings.GOLD_SQLITE_PATH) == "/data/gold.sqlite"
    assert settings.COSMOS_ENDPOINT is None
    assert settings.documents_backend == "embedded"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_REQUESTS", "7")
    assert Settings(RATE_LIMIT_REQUESTS=3).RATE_LIMIT_REQUESTS == 3
    assert Settings().RATE_LIMIT_REQUESTS == 7


def test_a_setting_out_of_its_bounds_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOWNLOAD_TTL_SECONDS", "5")
    with pytest.raises(ValidationError, match="DOWNLOAD_TTL_SECONDS"):
        Settings()


def test_reading_settings_does_not_import_pydantic_settings() -> None:
    probe = "import sys, core.settings; core.settings.get_settings(); print('pydantic_settings' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
