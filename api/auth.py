"""Who is calling: X-API-Key (hashed keys in API_KEYS) or an Entra ID bearer token, mapped to a role.

Roles are ordered: a reader reads; an operator reads and runs backfills.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

import jwt

from api.jwks import JwksUnavailable, UnknownKey, jwks_cache
from core.settings import Settings

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
_JWT_ALGORITHMS = ["RS256"]


class Role(IntEnum):
    reader = 1
    operator = 2


# Entra ID app roles (the `roles` claim) → our roles.
_APP_ROLES: dict[str, Role] = {"reader": Role.reader, "operator": Role.operator}


@dataclass(frozen=True)
class Principal:
    role: Role
    subject: str  # "key:<first 12 hex of the key's configured hash>" or the token's `oid`/`sub`; never the key
    method: str  # "api-key" | "bearer"


class AuthError(Exception):
    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class KeyEntry:
    role: Role
    sha256: str  # lowercase hex


def parse_api_keys(raw: str | None) -> list[KeyEntry]:
    """`role:sha256hex,role:sha256hex` → entries; malformed entries are skipped with a warning."""
    entries: list[KeyEntry] = []
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        role, _, digest = item.partition(":")
        digest = digest.strip().lower()
        if role.strip().lower() not in Role.__members__ or len(digest) != 64 or not _is_hex(digest):
            log.warning("ignoring a malformed API_KEYS entry (expected role:sha256hex)")
            continue
        entries.append(KeyEntry(Role[role.strip().lower()], digest))
    return entries


@lru_cache(maxsize=4)
def _configured_keys(raw: str | None) -> tuple[KeyEntry, ...]:
    """The setting parsed once per value, not on every request (it is on every keyed request's path)."""
    return tuple(parse_api_keys(raw))


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def key_entry(presented: str, entries: Sequence[KeyEntry]) -> KeyEntry | None:
    """The matching entry of the highest role; every entry is compared, in constant time each."""
    digest = hashlib.sha256(presented.encode()).hexdigest()
    found: KeyEntry | None = None
    for entry in entries:
        if hmac.compare_digest(digest, entry.sha256) and (found is None or entry.role > found.role):
            found = entry
    return found


def key_principal(presented: str, configured: str | None) -> Principal:
    """The principal of an API key under the API_KEYS setting `configured`; AuthError(401) if it matches none."""
    entry = key_entry(presented, _configured_keys(configured))
    if entry is None:
        raise AuthError(401, "The API key is not valid.")
    return Principal(entry.role, key_id(entry), "api-key")


def key_role(presented: str, entries: list[KeyEntry]) -> Role | None:
    entry = key_entry(presented, entries)
    return None if entry is None else entry.role


def key_id(entry: KeyEntry) -> str:
    """A key's public identity (logs, rate limits): a prefix of its configured hash, never the key."""
    return f"key:{entry.sha256[:12]}"


def jwt_configured(settings: Settings) -> bool:
    return bool(settings.AUTH_TENANT_ID and settings.AUTH_AUDIENCE)


def jwks_url(settings: Settings) -> str:
    return settings.AUTH_JWKS_URL or f"https://login.microsoftonline.com/{settings.AUTH_TENANT_ID}/discovery/v2.0/keys"


def issuers(tenant_id: str) -> list[str]:
    """v2 tokens name login.microsoftonline.com; v1 access tokens name sts.windows.net."""
    return [f"https://login.microsoftonline.com/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"]


KeyResolver = Callable[[str, Settings], Any]  # (token, settings) → verification key


def resolve_signing_key(token: str, settings: Settings) -> Any:
    kid = jwt.get_unverified_header(token).get("kid")
    cache = jwks_cache(
        jwks_url(settings), float(settings.AUTH_JWKS_CACHE_SECONDS), float(settings.AUTH_JWKS_STALE_GRACE_SECONDS)
    )
    return cache.key(kid)


def bearer_principal(token: str, settings: Settings, resolve_key: KeyResolver = resolve_signing_key) -> Principal:
    """Validate signature (RS256, tenant JWKS), issuer, audience and expiry; map the `roles` claim.

    401 for a bad token; 503 with Retry-After when the signing keys cannot be fetched (not the caller's fault)."""
    assert settings.AUTH_TENANT_ID and settings.AUTH_AUDIENCE
    try:
        key = resolve_key(token, settings)
        claims = jwt.decode(
            token,
            key,
            algorithms=_JWT_ALGORITHMS,
            audience=settings.AUTH_AUDIENCE,
            issuer=issuers(settings.AUTH_TENANT_ID),
            leeway=settings.AUTH_CLOCK_SKEW_SECONDS,  # clocks of issuer and worker differ by a few seconds
            options={"require": ["exp", "iss", "aud"]},
        )
    except JwksUnavailable as exc:
        detail = f"Bearer tokens cannot be verified now; retry after {exc.retry_after} s."
        raise AuthError(503, detail, {"Retry-After": str(exc.retry_after)}) from exc
    except UnknownKey as exc:
        raise AuthError(401, "Invalid bearer token: unknown signing key.") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise AuthError(401, f"Invalid bearer token: {type(exc).__name__}.") from exc
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        roles = []
    mapped = [_APP_ROLES[r.lower()] for r in roles if isinstance(r, str) and r.lower() in _APP_ROLES]
    if not mapped:
        raise AuthError(403, "The token carries no Reader or Operator role.")
    subject = str(claims.get("oid") or claims.get("sub") or "unknown")
    return Principal(max(mapped), subject, "bearer")


def authenticate(
    headers: Mapping[str, str], settings: Settings, resolve_key: KeyResolver = resolve_signing_key
) -> Principal:
    """The caller's principal; AuthError(401) when no valid credential is presented."""
    presented = headers.get(API_KEY_HEADER)
    if presented:
        return key_principal(presented, settings.API_KEYS)
    authorization = headers.get("Authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        if not jwt_configured(settings):
            raise AuthError(401, "Bearer tokens are not accepted by this deployment; use X-API-Key.")
        return bearer_principal(token.strip(), settings, resolve_key)
    bearer = " (or Authorization: Bearer <token>)" if jwt_configured(settings) else ""
    raise AuthError(401, f"Authentication required: send X-API-Key{bearer}.")


def authorize(principal: Principal, required: Role) -> None:
    if principal.role < required:
        raise AuthError(403, f"This operation needs the {required.name} role; the caller is a {principal.role.name}.")


def www_authenticate(settings: Settings) -> str:
    challenges = ['ApiKey realm="eco2mix", header="X-API-Key"']
    if jwt_configured(settings):
        challenges.append('Bearer realm="eco2mix"')
    return ", ".join(challenges)
