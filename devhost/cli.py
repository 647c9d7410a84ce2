"""`python -m devhost [serve]` plus the commands the app's hooks add: the local `func start`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from devhost.app_hooks import AppHooks, load_hooks

log = logging.getLogger("devhost")
DEFAULT_APP = "function_app:app"
EXIT_APP_REFUSED = 3  # the app fails the worker's indexing (2 is argparse's usage error)


def load_local_settings(path: Path, env: dict[str, str] | Any = os.environ) -> list[str]:
    """Copy local.settings.json Values into env without overriding what is already set."""
    if not path.is_file():
        return []
    values = json.loads(path.read_text()).get("Values", {})
    added = [k for k, v in values.items() if k not in env and v not in (None, "")]
    for key in added:
        env[key] = str(values[key])
    return added


async def serve(
    app_spec: str,
    port: int,
    data_dir: Path,
    *,
    workers: int | None,
    processes: int | None,
    run_timers_at_start: bool,
    hooks: AppHooks,
) -> None:
    from devhost.functions import load_app, read_max_concurrent_activities, read_route_prefix
    from devhost.host import start_host, stop_host
    from devhost.worker_pool import worker_process_count, worker_thread_count

    app = load_app(app_spec)
    # As the Functions host: FUNCTIONS_WORKER_PROCESS_COUNT worker processes, PYTHON_THREADPOOL_THREAD_COUNT
    # threads in each, at most host.json's maxConcurrentActivityFunctions activities at a time.
    processes = processes or worker_process_count(default=hooks.setting_default)
    workers = workers or read_max_concurrent_activities(Path("host.json"))
    host = await start_host(
        app,
        data_dir,
        port=port,
        route_prefix=read_route_prefix(Path("host.json")),
        activity_workers=workers,
        run_timers_at_start=run_timers_at_start,
        hooks=hooks,
        app_spec=app_spec,
        worker_processes=processes,
        worker_threads=worker_thread_count(default=hooks.setting_default),
    )
    print(f"devhost listening on {host.base_url} (app {app_spec}, data {data_dir})", flush=True)
    print(f"activities: {processes} worker process(es), at most {workers} at a time", flush=True)
    print(f"Durable webhooks (/runtime/webhooks/durabletask/): system key code={host.system_key}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("devhost stopping: in-flight work is persisted and resumes at the next start", flush=True)
    await stop_host(host)


def _hooks_spec(argv: list[str] | None) -> str | None:
    # The hooks add commands and options, so they are named before the full parser is built.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--hooks", default=os.environ.get("DEVHOST_HOOKS") or None)
    return pre.parse_known_args(argv)[0].hooks


def build_parser(hooks: AppHooks) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument(
        "--app", default=os.environ.get("DEVHOST_APP", DEFAULT_APP), help="module:attr of the FunctionApp"
    )
    parser.add_argument(
        "--hooks", help="module:attr of the app's AppHooks (default: $DEVHOST_HOOKS, else app_hooks.DEFAULT_HOOKS)"
    )
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="serve the app (default)")
    s.add_argument("--port", type=int, default=None, help="default: $PORT or 7071")
    s.add_argument("--data-dir", type=Path, default=None, help="default: $DATA_DIR or .data")
    s.add_argument(
        "--activity-workers",
        type=int,
        default=None,
        help="activities at a time (default: host.json durableTask.maxConcurrentActivityFunctions, else 10 × cores)",
    )
    s.add_argument(
        "--worker-processes",
        type=int,
        default=None,
        help="language worker processes (default: $FUNCTIONS_WORKER_PROCESS_COUNT, else the app's hook, else 1)",
    )
    s.add_argument("--no-run-timers-at-start", dest="run_timers_at_start", action="store_false")
    hooks.add_serve_options(s)
    hooks.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    hooks = load_hooks(_hooks_spec(argv))
    parser = build_parser(hooks)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_local_settings(Path("local.settings.json"))
    if args.command not in (None, "serve"):
        outcome = hooks.run_command(args)
        if outcome is None:
            parser.error(f"the app's hooks do not run {args.command!r}")
        return outcome
    # `python -m devhost` alone serves with every serve option at its default.
    args = parser.parse_args([*argv, "serve"]) if args.command is None else args
    args.port = args.port or int(os.environ.get("PORT", "7071"))
    args.data_dir = args.data_dir or Path(os.environ.get("DATA_DIR", ".data"))
    for line in hooks.before_serve(args, f"http://127.0.0.1:{args.port}"):  # before the app is imported
        print(line, flush=True)
    from devhost.indexing import IndexingError  # azure.functions, only when serving

    try:
        asyncio.run(
            serve(
                args.app,
                args.port,
                args.data_dir,
                workers=args.activity_workers,
                processes=args.worker_processes,
                run_timers_at_start=args.run_timers_at_start,
                hooks=hooks,
            )
        )
    except IndexingError as refused:
        # The verdict is the message, as the worker gives it: a traceback would only show devhost's own frames.
        print(f"devhost: {args.app} would not load on Azure Functions: {refused}", file=sys.stderr, flush=True)
        return EXIT_APP_REFUSED
    return 0
