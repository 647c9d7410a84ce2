"""Who may call the Durable HTTP API: the system key on the webhooks, and never a browser page of another site.

In Azure the `/runtime/webhooks/durabletask/` endpoints need the extension's system key (`code=` query
parameter or `x-functions-key` header), and the client binding carries it in every URL it hands out; the
SDK's own calls go to a local RPC endpoint (`/durabletask/`) without a key. devhost serves both on its one
loopback port, so both also refuse what only a browser sends for another site (an `Origin` or
`Sec-Fetch-Site` naming another origin, a DNS-rebound `Host`) and bodies that are not JSON: a page can
no longer start or purge orchestrations with a `text/plain` POST to 127.0.0.1.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from aiohttp import web

KEY_SETTING = "DEVHOST_SYSTEM_KEY"
KEY_FILE = "durabletask_extension.key"  # under the data dir: the key survives restarts, as Azure's does
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})


def system_key(data_dir: Path, env: dict[str, str] | None = None) -> str:
    """$DEVHOST_SYSTEM_KEY, else the key kept in the data dir (created on first use, owner-only)."""
    source = os.environ if env is None else env
    if source.get(KEY_SETTING):
        return source[KEY_SETTING]
    path = data_dir / KEY_FILE
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _host_name(host: str) -> str:
    if host.startswith("["):  # [::1]:7071
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(request: web.Request, key: str | None) -> tuple[int, str] | None:
    """(status, message) when `request` may not reach the Durable HTTP API; `key` None: no key needed."""
    if _host_name(request.host.lower()) not in _LOOPBACK_HOSTS:
        return 403, f"The Durable HTTP API answers only to a loopback Host, not {request.host!r}."
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower() != f"{request.scheme}://{request.host}".lower():
        return 403, f"Cross-origin requests to the Durable HTTP API are refused (Origin {origin!r})."
    if request.headers.get("Sec-Fetch-Site", "").lower() in _FOREIGN_FETCH_SITES:
        return 403, "Requests from another site's page are refused (Sec-Fetch-Site)."
    if key is not None:
        given = request.query.get("code") or request.headers.get("x-functions-key") or ""
        if not hmac.compare_digest(given.encode(), key.encode()):
            return 401, "The webhooks need the system key: the code query parameter or the x-functions-key header."
    if request.body_exists and request.content_type != "application/json":
        return 415, f"The request body must be application/json, not {request.content_type!r}."
    return None
