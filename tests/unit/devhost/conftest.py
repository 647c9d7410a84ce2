"""One factory per concept: an engine over the scenario app with a simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from devhost.clock import SimulatedClock
from devhost.engine import DurableEngine
from devhost.functions import FunctionIndex
from tests.fixtures.devhost_apps import scenarios


@pytest.fixture
def scenario_index() -> FunctionIndex:
    return FunctionIndex(scenarios.app)


@pytest.fixture
async def make_engine(tmp_path: Path, scenario_index: FunctionIndex) -> AsyncIterator[Callable[..., DurableEngine]]:
    engines: list[DurableEngine] = []

    def factory(db_name: str = "devhost.sqlite", workers: int = 4) -> DurableEngine:
        engine = DurableEngine(scenario_index, tmp_path / db_name, clock=SimulatedClock(), activity_workers=workers)
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        await engine.stop(grace_seconds=1)
