"""`python -m devhost [serve|gold import|gold sample]`: the local `func start` for this app."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("devhost")
DEFAULT_APP = "function_app:app"


def load_local_settings(path: Path, env: dict[str, str] | Any = os.environ) -> list[str]:
    """Copy local.settings.json Values into env without overriding what is already set."""
    if not path.is_file():
        return []
    values = json.loads(path.read_text()).get("Values", {})
    added = [k for k, v in values.items() if k not in env and v not in (None, "")]
    for key in added:
        env[key] = str(values[key])
    return added


def ensure_api_keys(env: dict[str, str] | Any = os.environ) -> dict[str, str]:
    """When API_KEYS is unset, create one reader and one operator key; returns {role: key} created."""
    if env.get("API_KEYS"):
        return {}
    keys = {role: secrets.token_urlsafe(24) for role in ("reader", "operator")}
    env["API_KEYS"] = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in keys.items())
    return keys


def _gold_path() -> Path:
    from stores.settings import get_settings

    return get_settings().gold_sqlite_path


def ensure_sample_gold(years: int = 1) -> int | None:
    """Build the sample Gold DB when the embedded backend is used and the file is absent."""
    from stores.settings import get_settings

    settings = get_settings()
    if settings.gold_backend != "sqlite" or settings.gold_sqlite_path.exists():
        return None
    from stores.sample_data import build_sample_gold

    return build_sample_gold(settings.gold_sqlite_path, years=years)


def cmd_gold_import(paths: list[Path]) -> int:
    from stores.gold_import import import_files

    try:
        reports = import_files(_gold_path(), paths)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in reports:
        print(
            f"{r.file}: {r.format} regions={','.join(r.region_codes)} rows={r.rows_read} "
            f"new={r.facts_written} updated={r.facts_updated} unchanged={r.facts_unchanged} "
            f"{r.first_instant} .. {r.last_instant}"
        )
    return 0


def cmd_gold_sample(years: int) -> int:
    from stores.sample_data import build_sample_gold

    path = _gold_path()
    rows = build_sample_gold(path, years=years)
    print(f"{path}: {rows} sample facts ({years} year(s))")
    return 0


async def serve(app_spec: str, port: int, data_dir: Path, *, workers: int, run_timers_at_start: bool) -> None:
    from devhost.functions import load_app, read_route_prefix
    from devhost.host import start_host, stop_host

    app = load_app(app_spec)
    host = await start_host(
        app,
        data_dir,
        port=port,
        route_prefix=read_route_prefix(Path("host.json")),
        activity_workers=workers,
        run_timers_at_start=run_timers_at_start,
    )
    print(f"devhost listening on {host.base_url} (app {app_spec}, data {data_dir})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("devhost stopping: in-flight work is persisted and resumes at the next start", flush=True)
    await stop_host(host)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument(
        "--app", default=os.environ.get("DEVHOST_APP", DEFAULT_APP), help="module:attr of the FunctionApp"
    )
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="serve the app (default)")
    s.add_argument("--port", type=int, default=None, help="default: $PORT or 7071")
    s.add_argument("--data-dir", type=Path, default=None, help="default: $DATA_DIR or .data")
    # 8 threads: activities wait on SQLite and file I/O too; measured faster than 2 or 4 on 2 cores.
    s.add_argument("--activity-workers", type=int, default=8)
    s.add_argument("--no-run-timers-at-start", dest="run_timers_at_start", action="store_false")
    s.add_argument("--no-sample", dest="sample", action="store_false", help="do not build the sample Gold DB")
    gold = sub.add_parser("gold", help="Gold DB commands").add_subparsers(dest="gold_command", required=True)
    imp = gold.add_parser("import", help="import éCO2mix files (ODRÉ CSV or RTE annual)")
    imp.add_argument("files", nargs="+", type=Path)
    sample = gold.add_parser("sample", help="build the sample Gold DB")
    sample.add_argument("--years", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_local_settings(Path("local.settings.json"))
    if args.command == "gold":
        return cmd_gold_import(args.files) if args.gold_command == "import" else cmd_gold_sample(args.years)
    port = getattr(args, "port", None) or int(os.environ.get("PORT", "7071"))
    data_dir = getattr(args, "data_dir", None) or Path(os.environ.get("DATA_DIR", ".data"))
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    keys = ensure_api_keys()  # before the app is imported: its settings are read once
    for role, key in keys.items():
        print(f"API key ({role}): {key}", flush=True)
    if getattr(args, "sample", True) and args.app == DEFAULT_APP:
        rows = ensure_sample_gold()
        if rows is not None:
            print(f"built the sample Gold DB: {rows} facts", flush=True)
    asyncio.run(
        serve(
            args.app,
            port,
            data_dir,
            workers=getattr(args, "activity_workers", 8),
            run_timers_at_start=getattr(args, "run_timers_at_start", True),
        )
    )
    return 0
