"""Real and simulated clocks; the simulated one jumps to the next timer when nothing else can run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    simulated: bool

    def now(self) -> datetime: ...

    def advance_to(self, when: datetime) -> None: ...


class RealClock:
    simulated = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance_to(self, when: datetime) -> None:  # real time cannot be moved
        return None


class SimulatedClock:
    """Starts at `start` and only moves when the engine is idle and a timer is due later."""

    simulated = True

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self._tick = timedelta(microseconds=1)

    def now(self) -> datetime:
        # Strictly increasing, so every episode gets a distinct OrchestratorStarted timestamp.
        self._now += self._tick
        return self._now

    def advance_to(self, when: datetime) -> None:
        self._now = max(self._now, when)
