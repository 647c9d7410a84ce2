"""HTTP caching and compression policy: ETags from content hashes, Cache-Control by finality, gzip."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from functools import lru_cache

# Final (definitive) days never change: cache them for a year. Anything else may still be revised.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
NO_STORE = "no-store"
GZIP_MIN_BYTES = 1024
# Level 1: on these JSON bodies it saves ~87% of the bytes (level 6: ~90%) for a third of the CPU.
GZIP_LEVEL = 1
# A gzip form made once per worker and kept (static files, the OpenAPI document): zlib's default level, whose
# one-time CPU buys fewer bytes on every later answer (plotly.js: 1.71 MB at level 1, 1.47 MB at 6, in ~0.2 s).
KEPT_GZIP_LEVEL = 6
_COMPRESSIBLE = ("application/json", "application/problem+json", "text/", "application/javascript")


GZIP_ETAG_SUFFIX = "-gzip"


def cache_control(final: bool) -> str:
    return IMMUTABLE if final else SHORT


@lru_cache(maxsize=32)  # the policies are this module's constants: a few (policy, caller) pairs
def for_caller(policy: str, authenticated: bool) -> str:
    """A response that needed a credential may be kept by the caller's own cache only.

    `private` rather than `Vary: X-API-Key, Authorization`: CDNs (Azure Front Door, Cloudflare, …) honour
    `private` by not storing the response, but most ignore Vary on request headers other than Accept-Encoding,
    so a Vary alone would let them serve a keyed response to a caller without a key.
    """
    if authenticated and policy.startswith("public"):
        return "private" + policy.removeprefix("public")
    return policy


def etag(content_hash: str) -> str:
    """Strong ETag of one document: its content hash, quoted."""
    return f'"{content_hash}"'


def bytes_etag(data: bytes) -> str:
    """Strong ETag of fixed bytes (a static file, the OpenAPI document): a hash of them."""
    return etag(hashlib.sha256(data).hexdigest()[:32])


def combined_etag(content_hashes: Iterable[str], variant: str) -> str:
    """ETag of a response built from several documents: a hash of their hashes and of the query."""
    # variant|h1|h2…, hashed in one call (one update per hash costs ~0.15 µs each, 31 for a month of days).
    digest = hashlib.sha256("|".join([variant, *content_hashes]).encode())
    return etag(digest.hexdigest()[:32])


def gzip_etag(tag: str) -> str:
    """The gzip form's own strong ETag (`"h"` → `"h-gzip"`, as Apache and nginx do): its bytes differ."""
    return tag[:-1] + GZIP_ETAG_SUFFIX + '"' if tag.endswith('"') else tag + GZIP_ETAG_SUFFIX


def matches(if_none_match: str | None, current: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against the current ETag (`*` matches anything).

    The gzip and identity forms of one content match each other: a client that cached either form still
    holds the current content, whatever encoding it asks for now."""
    if not if_none_match:
        return False
    wanted = _content_tag(current)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or _content_tag(candidate) == wanted:
            return True
    return False


def _content_tag(tag: str) -> str:
    opaque = tag[2:] if tag.startswith("W/") else tag
    return opaque.replace(GZIP_ETAG_SUFFIX + '"', '"') if opaque.endswith(GZIP_ETAG_SUFFIX + '"') else opaque


# Accept-Encoding values seen: a client sends one of a few (its library's), parsed once. The client sets
# them, so the cache is bounded by entries and long values are parsed every time instead.
_ACCEPT_KEPT = 64
_ACCEPT_KEPT_CHARS = 128


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when gzip (or *) is listed without q=0."""
    if not accept_encoding:
        return False
    if len(accept_encoding) <= _ACCEPT_KEPT_CHARS:
        return _accepts_gzip_kept(accept_encoding)
    return _accepts_gzip(accept_encoding)


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


_accepts_gzip_kept = lru_cache(maxsize=_ACCEPT_KEPT)(_accepts_gzip)


def compressible(content_type: str) -> bool:
    return content_type.startswith(_COMPRESSIBLE)


def gzip_bytes(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    # mtime=0: the same body always compresses to the same bytes.
    return gzip.compress(data, compresslevel=level, mtime=0)
