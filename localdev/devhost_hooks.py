"""What devhost adds for this app (found by devhost as `localdev.devhost_hooks:hooks`; never deployed).

The Gold commands, the embedded-file downloads behind the signed CSV links, the settings defaults,
the app's problem URNs, and the environment a local run needs (data dir, public URL, API keys, sample Gold).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost.app_hooks import AppHooks, ProblemFactory
from devhost.server import flat_query

APP = "function_app:app"


def ensure_api_keys(env: dict[str, str] | Any = os.environ) -> dict[str, str]:
    """When API_KEYS is unset, create one reader and one operator key; returns {role: key} created."""
    if env.get("API_KEYS"):
        return {}
    keys = {role: secrets.token_urlsafe(24) for role in ("reader", "operator")}
    env["API_KEYS"] = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in keys.items())
    return keys


def _gold_path() -> Path:
    from core.settings import get_settings

    return get_settings().gold_sqlite_path


def ensure_sample_gold(years: int = 1) -> int | None:
    """Build the sample Gold DB when the embedded backend is used and the file is absent."""
    from core.settings import get_settings

    settings = get_settings()
    if settings.gold_backend != "sqlite" or settings.gold_sqlite_path.exists():
        return None
    from localdev.sample_data import build_sample_gold

    return build_sample_gold(settings.gold_sqlite_path, years=years)


def cmd_gold_import(paths: list[Path]) -> int:
    from localdev.gold_import import import_files

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
    from localdev.sample_data import build_sample_gold

    path = _gold_path()
    rows = build_sample_gold(path, years=years)
    print(f"{path}: {rows} sample facts ({years} year(s))")
    return 0


def _embedded_files() -> Any:
    """The embedded file store when that backend is configured, else None (downloads then 404)."""
    from stores.factory import get_stores
    from stores.files_embedded import EmbeddedFileStore

    files = get_stores().files
    return files if isinstance(files, EmbeddedFileStore) else None


# The exports container's Blob CORS rule (infra/bicep/core/exports-storage.bicep), mirrored on /_files.
_FILES_METHODS = "GET, HEAD, OPTIONS"
_FILES_REQUEST_HEADERS = ("range", "if-none-match", "if-modified-since")
_FILES_EXPOSED = "Content-Disposition, Content-Length, Content-Type, ETag, Last-Modified"


def files_cors_origins(configured: str, self_origin: str) -> list[str]:
    """As main.bicep: the configured origins plus the app's own, or any origin when none is configured."""
    origins = [o.strip() for o in configured.split(",") if o.strip()]
    return [*origins, self_origin] if origins else ["*"]


def files_cors_headers(origin: str | None, allowed: list[str]) -> dict[str, str]:
    if origin is None or ("*" not in allowed and origin not in allowed):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": _FILES_EXPOSED, "Vary": "Origin"}


def _allowed_origins() -> list[str]:
    from core.settings import get_settings

    return files_cors_origins(get_settings().CORS_ALLOWED_ORIGINS, os.environ.get("PUBLIC_BASE_URL", ""))


class Eco2mixHooks(AppHooks):
    def problem_type(self, title: str) -> str:
        return f"urn:eco2mix:problem:{title.lower().replace(' ', '-')}"  # as api.http names its own problems

    def setting_default(self, name: str) -> str | None:
        """The default of the app's typed Settings (e.g. MATERIALIZE_SCHEDULE when local settings lack it)."""
        if name == "FUNCTIONS_WORKER_PROCESS_COUNT":
            # Flex Consumption sizes an instance's workers itself (it refuses the setting): locally, one per core,
            # so a materialization fan-out uses every core.
            return str(os.cpu_count() or 1)
        from core.settings import get_settings

        value = getattr(get_settings(), name, None)
        return None if value is None else str(value)

    def add_commands(self, commands: Any) -> None:
        gold = commands.add_parser("gold", help="Gold DB commands").add_subparsers(dest="gold_command", required=True)
        imp = gold.add_parser("import", help="import éCO2mix files (ODRÉ CSV or RTE annual)")
        imp.add_argument("files", nargs="+", type=Path)
        sample = gold.add_parser("sample", help="build the sample Gold DB")
        sample.add_argument("--years", type=int, default=1)

    def run_command(self, args: argparse.Namespace) -> int | None:
        if args.command != "gold":
            return None
        return cmd_gold_import(args.files) if args.gold_command == "import" else cmd_gold_sample(args.years)

    def add_serve_options(self, serve: argparse.ArgumentParser) -> None:
        serve.add_argument("--no-sample", dest="sample", action="store_false", help="do not build the sample Gold DB")

    def before_serve(self, args: argparse.Namespace, base_url: str) -> list[str]:
        os.environ["DATA_DIR"] = str(args.data_dir)
        os.environ["PUBLIC_BASE_URL"] = base_url  # signed CSV links point at the /_files route below
        lines = [f"API key ({role}): {key}" for role, key in ensure_api_keys().items()]  # before settings are read
        if getattr(args, "sample", True) and args.app == APP:
            rows = ensure_sample_gold()
            if rows is not None:
                lines.append(f"built the sample Gold DB: {rows} facts")
        return lines

    def routes(self, problem: ProblemFactory) -> list[web.RouteDef]:
        async def download(request: web.Request) -> web.StreamResponse:
            response = await answer(request)
            response.headers.update(files_cors_headers(request.headers.get("Origin"), _allowed_origins()))
            return response

        async def preflight(request: web.Request) -> web.StreamResponse:
            """A browser's CORS preflight for a download link, answered as Blob storage answers it."""
            cors = files_cors_headers(request.headers.get("Origin"), _allowed_origins())
            method = request.headers.get("Access-Control-Request-Method", "")
            asked = [h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",")]
            asked = [h for h in asked if h]
            if not cors or method not in ("GET", "HEAD") or any(h not in _FILES_REQUEST_HEADERS for h in asked):
                return problem(403, "Forbidden", "CORS is not allowed for this origin, method or these headers.")
            cors |= {"Access-Control-Allow-Methods": _FILES_METHODS, "Access-Control-Max-Age": "600"}
            if asked:
                cors["Access-Control-Allow-Headers"] = ", ".join(asked)
            return web.Response(status=200, headers=cors)

        async def answer(request: web.Request) -> web.StreamResponse:
            name = request.match_info["name"]
            store = _embedded_files()
            if store is None:
                return problem(404, "Not Found", "Downloads are served here only with the embedded file store.")
            try:
                path, filename = store.resolve_download(name, flat_query(request))
            except PermissionError as exc:
                return problem(403, "Forbidden", f"The download link is not valid: {exc}.")
            except FileNotFoundError:
                return problem(404, "Not Found", f"No file {name}.")
            safe = filename.replace('"', "")
            headers = {
                "Content-Type": store.media_type(name),  # CSV or Parquet, as Blob Storage would say
                "Content-Disposition": f'attachment; filename="{safe}"',
            }
            # As Blob Storage serves a blob: ETag and Last-Modified, conditional requests, byte ranges (206);
            # the file goes out by sendfile, never read whole into memory (a year's bulk CSV is tens of MB).
            return web.FileResponse(path, headers=headers)

        return [web.get("/_files/{name:.+}", download), web.options("/_files/{name:.+}", preflight)]


hooks = Eco2mixHooks()
