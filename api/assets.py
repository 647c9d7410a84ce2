"""Static files served by the app itself (pages, their scripts and the pinned UI libraries): no CDN.

Each page has a fixed table of assets, so a path parameter can never name any other file. The libraries
come from their PyPI packages (installed from requirements.txt like any dependency): `find_spec` locates a
package's folder without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from api import caching
from api.http import ApiError, Reply

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
    return caching.bytes_etag(asset_bytes(asset))


@lru_cache(maxsize=32)
def asset_gzip(asset: Asset) -> bytes:
    """The file's gzip form, made once per worker when a client first accepts it: compressed per request,
    plotly.js cost ~60-70 ms of CPU each time."""
    return caching.gzip_bytes(asset_bytes(asset), caching.KEPT_GZIP_LEVEL)


def lookup(table: dict[str, Asset], name: str) -> Asset:
    if name not in table:
        raise ApiError(404, f"No asset {name!r}.", slug="not-found")
    return table[name]


def page_reply(page: Asset, headers: dict[str, str]) -> Reply:
    """A page with its own headers (its Content-Security-Policy) and its kept gzip form."""
    return Reply(
        asset_bytes(page),
        content_type=page.content_type,
        headers=headers,
        cache_control=caching.SHORT,
        gzip_make=partial(asset_gzip, page),
    )


def asset_reply(table: dict[str, Asset], name: str) -> Reply:
    """The file `name` of a page's table, with its ETag and its kept gzip form; 404 for a name not in it."""
    asset = lookup(table, name)
    return Reply(
        asset_bytes(asset),
        content_type=asset.content_type,
        headers={"X-Content-Type-Options": "nosniff"},
        etag=asset_etag(asset),
        cache_control=caching.SHORT,
        gzip_make=partial(asset_gzip, asset),
    )


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
