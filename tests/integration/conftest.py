"""Session-wide emulators for the integration tests: started on first use, stopped at the end of the session.

Without the npm emulators the tests skip locally and fail under CI (CI=true), so CI never passes by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import emulators
from tests.integration.emulators import Azurite, CosmosServer, start_azurite, start_cosmos


def _require_emulators() -> None:
    reason = emulators.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"emulators unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"emulators unavailable: {reason}")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    _require_emulators()
    emulator = start_azurite(Path(tmp_path_factory.mktemp("azurite")))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """A second Azurite over HTTPS with bearer tokens: the managed-identity path (user-delegation SAS)."""
    _require_emulators()
    emulator = start_azurite(Path(tmp_path_factory.mktemp("azurite-oauth")), oauth=True)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def cosmos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosServer]:
    _require_emulators()
    emulator = start_cosmos(Path(tmp_path_factory.mktemp("cosmos")))
    try:
        yield emulator
    finally:
        emulator.stop()
