"""Static files served by the app itself (pages, their scripts and the pinned UI libraries): no CDN.

Each page has a fixed table of assets, so a path parameter can never name any other file. The libraries
come from their PyPI packages (installed from requirements.txt like any dependency): `find_spec` locates a
package's folder without importing it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from api.http import ApiError

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    """One served file: in `package` (an installed distribution's import name) at `path`."""

    package: str
    path: str
    content_type: str


def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {package!r} is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=32)
def asset_bytes(asset: Asset) -> bytes:
    """The file's bytes, read once per worker."""
    if asset.package == "api.static":
        return resources.files("api.static").joinpath(asset.path).read_bytes()
    return (_package_dir(asset.package) / asset.path).read_bytes()


@lru_cache(maxsize=32)
def asset_etag(asset: Asset) -> str:
    """Strong ETag of the file's bytes: after max-age a browser revalidates and gets a 304, not 4.8 MB again."""
    return f'"{hashlib.sha256(asset_bytes(asset)).hexdigest()[:32]}"'


def lookup(table: dict[str, Asset], name: str) -> Asset:
    if name not in table:
        raise ApiError(404, f"No asset {name!r}.", slug="not-found")
    return table[name]


def csp_hash(text: str) -> str:
    """A CSP source allowing exactly this inline text (a style element's content)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Headers of every HTML page: its own strict policy; nothing from another origin, no framing.
PAGE_SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def content_security_policy(
    *, style_hashes: tuple[str, ...] = (), connect: tuple[str, ...] = (), img: str = "'self' data: blob:"
) -> str:
    styles = " ".join(("'self'", *style_hashes))
    connects = " ".join(("'self'", *connect))
    return (
        f"default-src 'none'; script-src 'self'; style-src {styles}; img-src {img}; font-src 'self'; "
        f"connect-src {connects}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
