"""Who is calling: X-API-Key (hashed keys in API_KEYS) or an Entra ID bearer token, mapped to a role.

Roles are ordered: a reader reads; an operator reads and runs backfills.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

import jwt

from stores.settings import Settings

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
_JWT_ALGORITHMS = ["RS256"]
_JWKS_TIMEOUT_SECONDS = 5.0


class Role(IntEnum):
    reader = 1
    operator = 2


# Entra ID app roles (the `roles` claim) → our roles.
_APP_ROLES: dict[str, Role] = {"reader": Role.reader, "operator": Role.operator}


@dataclass(frozen=True)
class Principal:
    role: Role
    subject: str  # "api-key:<role>" or the token's `sub`/`oid`
    method: str  # "api-key" | "bearer"


class AuthError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


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


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def key_role(presented: str, entries: list[KeyEntry]) -> Role | None:
    """The highest role whose hash matches; every entry is compared, in constant time each."""
    digest = hashlib.sha256(presented.encode()).hexdigest()
    found: Role | None = None
    for entry in entries:
        if hmac.compare_digest(digest, entry.sha256) and (found is None or entry.role > found):
            found = entry.role
    return found


def jwt_configured(settings: Settings) -> bool:
    return bool(settings.AUTH_TENANT_ID and settings.AUTH_AUDIENCE)


def jwks_url(settings: Settings) -> str:
    return settings.AUTH_JWKS_URL or f"https://login.microsoftonline.com/{settings.AUTH_TENANT_ID}/discovery/v2.0/keys"


def issuers(tenant_id: str) -> list[str]:
    """v2 tokens name login.microsoftonline.com; v1 access tokens name sts.windows.net."""
    return [f"https://login.microsoftonline.com/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"]


@lru_cache(maxsize=4)
def _jwk_client(url: str) -> jwt.PyJWKClient:
    # One client per URL and worker: it caches the key set and refetches on an unknown `kid`.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=_JWKS_TIMEOUT_SECONDS)


KeyResolver = Callable[[str, str], Any]  # (token, jwks url) → verification key


def resolve_signing_key(token: str, url: str) -> Any:
    return _jwk_client(url).get_signing_key_from_jwt(token).key


def bearer_principal(token: str, settings: Settings, resolve_key: KeyResolver = resolve_signing_key) -> Principal:
    """Validate signature (RS256, tenant JWKS), issuer, audience and expiry; map the `roles` claim."""
    assert settings.AUTH_TENANT_ID and settings.AUTH_AUDIENCE
    try:
        key = resolve_key(token, jwks_url(settings))
        claims = jwt.decode(
            token,
            key,
            algorithms=_JWT_ALGORITHMS,
            audience=settings.AUTH_AUDIENCE,
            issuer=issuers(settings.AUTH_TENANT_ID),
            options={"require": ["exp", "iss", "aud"]},
        )
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
        role = key_role(presented, parse_api_keys(settings.API_KEYS))
        if role is None:
            raise AuthError(401, "The API key is not valid.")
        return Principal(role, f"api-key:{role.name}", "api-key")
    authorization = headers.get("Authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        if not jwt_configured(settings):
            raise AuthError(401, "Bearer tokens are not accepted by this deployment; use X-API-Key.")
        return bearer_principal(token.strip(), settings, resolve_key)
    raise AuthError(401, "Authentication required: send X-API-Key (or Authorization: Bearer <token>).")


def authorize(principal: Principal, required: Role) -> None:
    if principal.role < required:
        raise AuthError(403, f"This operation needs the {required.name} role; the caller is a {principal.role.name}.")


def www_authenticate(settings: Settings) -> str:
    challenges = ['ApiKey realm="eco2mix", header="X-API-Key"']
    if jwt_configured(settings):
        challenges.append('Bearer realm="eco2mix"')
    return ", ".join(challenges)
