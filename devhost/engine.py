"""The Durable runtime of one host: its store, the client operations and the scheduler, wired together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devhost.clock import Clock, RealClock
from devhost.durable_client import DurableClient
from devhost.functions import FunctionIndex
from devhost.instance import Instance
from devhost.scheduler import Scheduler
from devhost.store import Store
from devhost.worker_pool import WorkerPool


class DurableEngine:
    def __init__(
        self,
        index: FunctionIndex,
        db_path: Path,
        *,
        clock: Clock | None = None,
        activity_workers: int = 4,
        on_progress: Callable[[Instance], None] | None = None,
        worker_pool: WorkerPool | None = None,
    ) -> None:
        self.store = Store(db_path)
        self.clock = clock or RealClock()
        self.scheduler = Scheduler(
            index,
            self.store,
            self.clock,
            activity_workers=activity_workers,
            on_progress=on_progress,
            worker_pool=worker_pool,
        )
        self.client = DurableClient(index, self.store, self.clock, wake=self.scheduler.wake)

    def start(self) -> None:
        """Schedule in the background (server mode); persisted work resumes here."""
        self.scheduler.start()

    async def run_until_idle(self) -> None:
        await self.scheduler.run_until_idle()

    async def stop(self, grace_seconds: float = 5.0) -> None:
        await self.scheduler.stop(grace_seconds)
        self.store.close()
