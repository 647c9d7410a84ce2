"""The real Azure Functions Python worker, built once per session (source + stubs, see devhost.real_worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.real_worker import HOW_TO_RUN, build_worker


@pytest.fixture(scope="session")
def worker_dir() -> Path:
    built = build_worker()
    if built is None:
        pytest.skip(HOW_TO_RUN)
    return built
