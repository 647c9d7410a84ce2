"""Start and stop a whole devhost (engine + HTTP server + timers) inside the current event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost.app_hooks import AppHooks
from devhost.clock import Clock
from devhost.durable_api import client_binding
from devhost.engine import DurableEngine
from devhost.functions import FunctionIndex
from devhost.instance import Instance
from devhost.protocol_errors import ProblemAppRunner
from devhost.server import HostState, build_web_app, problem, reset_sdk_session
from devhost.timer_triggers import TimerStatus, run_timer
from devhost.webhook_guard import system_key as stored_system_key
from devhost.worker_pool import WorkerPool

log = logging.getLogger("devhost")


@dataclass
class RunningHost:
    base_url: str
    engine: DurableEngine
    runner: web.AppRunner
    system_key: str
    timer_tasks: list[asyncio.Task[None]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_progress(inst: Instance) -> None:
    log.info("orchestration %s (%s): %s", inst.instance_id, inst.name, inst.custom_status)


async def start_host(
    app: Any,
    data_dir: Path,
    *,
    port: int = 0,
    route_prefix: str = "",
    clock: Clock | None = None,
    activity_workers: int = 8,
    timers: bool = True,
    run_timers_at_start: bool = False,
    hooks: AppHooks | None = None,
    system_key: str | None = None,
    app_spec: str | None = None,
    worker_processes: int = 0,
    worker_threads: int | None = None,
) -> RunningHost:
    """Index the app, resume persisted orchestrations, serve on 127.0.0.1:<port> (0 = a free port).

    With `app_spec` (the `module:attr` `app` was imported from) and `worker_processes` > 0, activities run in
    that many worker processes of `worker_threads` threads each, at most `activity_workers` at a time;
    otherwise on `activity_workers` threads of this process.
    """
    index = FunctionIndex(app, route_prefix)
    pool = None
    if app_spec is not None and worker_processes > 0:
        pool = WorkerPool(app_spec, worker_processes, worker_threads, max_in_flight=activity_workers)
    engine = DurableEngine(
        index,
        data_dir / "devhost.sqlite",
        clock=clock,
        activity_workers=activity_workers,
        on_progress=_log_progress,
        worker_pool=pool,
    )
    port = port or free_port()
    hooks = hooks or AppHooks()
    key = system_key or stored_system_key(data_dir)
    timer_status = [TimerStatus(t.name) for t in index.timers] if timers else []
    state = HostState(
        index=index,
        engine=engine,
        base_url=f"http://127.0.0.1:{port}",
        hooks=hooks,
        system_key=key,
        timers=timer_status,
    )
    runner = ProblemAppRunner(build_web_app(state), problem_of=partial(problem, hooks), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    engine.scheduler.client_binding = client_binding(state.base_url, system_key=key)
    engine.start()
    host = RunningHost(base_url=state.base_url, engine=engine, runner=runner, system_key=key)
    if timers:
        host.timer_tasks = [
            asyncio.create_task(
                run_timer(
                    t,
                    run_at_start=run_timers_at_start,
                    client_binding=client_binding(host.base_url, system_key=key),
                    setting_default=hooks.setting_default,
                    status=status,
                )
            )
            for t, status in zip(index.timers, timer_status, strict=True)
        ]
    return host


async def stop_host(host: RunningHost, grace_seconds: float = 5.0) -> None:
    """Stop accepting, stop timers, let in-flight activities finish briefly (the rest resume next start)."""
    for task in host.timer_tasks:
        task.cancel()
    for task in host.timer_tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await host.runner.cleanup()
    await host.engine.stop(grace_seconds)
    log.info("devhost engine stats: %s", host.engine.scheduler.stats)
    await reset_sdk_session()
