"""Auth: hashed API keys, Entra ID bearer tokens (real RS256 signatures, a real JWKS over HTTP), roles."""

from __future__ import annotations

import hashlib

import pytest

from api.auth import (
    AuthError,
    Role,
    authenticate,
    authorize,
    key_principal,
    key_role,
    parse_api_keys,
)
from core.settings import Settings

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://eco2mix"
ISSUER_V2 = f"https://login.microsoftonline.com/{TENANT}/v2.0"
ISSUER_V1 = f"https://sts.windows.net/{TENANT}/"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"reader:{sha('a')},operator:{sha('b')}", [Role.reader, Role.operator]),
        (f" reader:{sha('a').upper()} , ", [Role.reader]),
        (f"admin:{sha('a')},reader:nothex,operator:{sha('b')[:10]},{sha('c')}", []),
        ("", []),
        (None, []),
    ],
)
def test_parse_api_keys(raw: str | None, expected: list[Role]) -> None:
    assert [e.role for e in parse_api_keys(raw)] == expected


@pytest.mark.parametrize(
    ("presented", "role"),
    [("r-key", Role.reader), ("o-key", Role.operator), ("both", Role.operator), ("nope", None), ("", None)],
)
def test_key_role_picks_the_highest_matching_role(presented: str, role: Role | None) -> None:
    entries = parse_api_keys(
        f"reader:{sha('r-key')},operator:{sha('o-key')},reader:{sha('both')},operator:{sha('both')}"
    )
    assert key_role(presented, entries) == role


@pytest.mark.parametrize(
    ("configured", "presented", "outcome"),
    [
        (f"reader:{sha('r-key')}", "r-key", Role.reader),
        (f"reader:{sha('r-key')},operator:{sha('r-key')}", "r-key", Role.operator),
        (f"reader:{sha('r-key')}", "o-key", 401),
        ("", "r-key", 401),
    ],
)
def test_key_principal(configured: str, presented: str, outcome: Role | int) -> None:
    try:
        assert key_principal(presented, configured).role == outcome
    except AuthError as exc:
        assert exc.status == outcome


def test_a_key_is_not_valid_under_a_new_setting() -> None:
    assert key_principal("r-key", f"reader:{sha('r-key')}").role == Role.reader
    with pytest.raises(AuthError) as err:
        key_principal("r-key", f"reader:{sha('other')}")
    assert err.value.status == 401


@pytest.mark.parametrize(
    ("headers", "outcome"),
    [
        ({}, 401),
        ({"X-API-Key": "wrong"}, 401),
        ({"X-API-Key": "r-key"}, Role.reader),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Bearer some.jwt.token"}, 401),  # JWT not configured here
    ],
)
def test_authenticate_with_keys_only(headers: dict[str, str], outcome: int | Role) -> None:
    settings = Settings(API_KEYS=f"reader:{sha('r-key')}")
    if isinstance(outcome, Role):
        assert authenticate(headers, settings).role == outcome
    else:
        with pytest.raises(AuthError) as err:
            authenticate(headers, settings)
        assert err.value.status == outcome


@pytest.mark.parametrize(
    ("required", "actual", "allowed"),
    [
        (Role.reader, Role.reader, True),
        (Role.reader, Role.operator, True),
        (Role.operator, Role.operator, True),
        (Role.operator, Role.reader, False),
    ],
)
def test_authorize_role_order(required: Role, actual: Role, allowed: bool) -> None:
    from api.auth import Principal

    principal = Principal(actual, "x", "api-key")
    if allowed:
        authorize(principal, required)
    else:
        with pytest.raises(AuthError) as err:
            authorize(principal, required)
        assert err.value.status == 403


def test_api_key_principal_is_the_key_id_never_the_key() -> None:
    settings = Settings(API_KEYS=f"reader:{sha('k1')},reader:{sha('k2')}")
    first, second = (authenticate({"X-API-Key": key}, settings) for key in ("k1", "k2"))
    assert first.subject == f"key:{sha('k1')[:12]}" and first.subject != second.subject
    assert "k1" not in first.subject.removeprefix("key:")
