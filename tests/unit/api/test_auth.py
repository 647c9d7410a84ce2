"""Auth: hashed API keys, Entra ID bearer tokens (real RS256 signatures, a real JWKS over HTTP), roles."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api import auth
from api.auth import (
    AuthError,
    Role,
    authenticate,
    authorize,
    bearer_principal,
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


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A real HTTP JWKS endpoint publishing the signing key under kid "k1"."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/keys"
    server.shutdown()
    server.server_close()


def token(key: rsa.RSAPrivateKey, expires_in: int = 600, **overrides: Any) -> str:
    """A signed token; `expires_in` is relative to the signing time, so a collected test case never goes stale."""
    now = int(time.time())
    claims = {"iss": ISSUER_V2, "aud": AUDIENCE, "exp": now + expires_in, "iat": now, "sub": "user-1"}
    claims["roles"] = ["Reader"]
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def jwt_settings(jwks_url: str) -> Settings:
    return Settings(
        API_KEYS=f"reader:{sha('r-key')}", AUTH_TENANT_ID=TENANT, AUTH_AUDIENCE=AUDIENCE, AUTH_JWKS_URL=jwks_url
    )


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


@pytest.fixture
def no_kept_keys(monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    kept: dict[Any, Any] = {}
    monkeypatch.setattr(auth, "_valid_keys", kept)
    return kept


@pytest.mark.parametrize(
    ("configured", "presented", "outcome"),
    [
        (f"reader:{sha('r-key')}", "r-key", Role.reader),
        (f"reader:{sha('r-key')},operator:{sha('r-key')}", "r-key", Role.operator),
        (f"reader:{sha('r-key')}", "o-key", 401),
        ("", "r-key", 401),
    ],
)
def test_a_kept_key_answers_as_the_first_lookup_did(
    no_kept_keys: dict[Any, Any], configured: str, presented: str, outcome: Role | int
) -> None:
    answers: list[tuple[Role | int, str, str]] = []
    for _ in range(2):
        try:
            principal = key_principal(presented, configured)
            answers.append((principal.role, principal.subject, principal.method))
        except AuthError as exc:
            answers.append((exc.status, exc.detail, ""))
    assert answers[0] == answers[1]
    assert answers[0][0] == outcome
    assert len(no_kept_keys) == (0 if outcome == 401 else 1)


def test_a_kept_key_is_not_valid_under_a_new_setting(no_kept_keys: dict[Any, Any]) -> None:
    assert key_principal("r-key", f"reader:{sha('r-key')}").role == Role.reader
    with pytest.raises(AuthError) as err:
        key_principal("r-key", f"reader:{sha('other')}")
    assert err.value.status == 401


def test_keys_kept_are_bounded_and_made_up_keys_are_not_kept(
    no_kept_keys: dict[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "_VALID_KEYS_KEPT", 3)
    keys = [f"key-{i}" for i in range(6)]
    configured = ",".join(f"reader:{sha(k)}" for k in keys)
    for key in keys:
        assert key_principal(key, configured).role == Role.reader  # beyond the bound: looked up, not kept
    for i in range(20):
        with pytest.raises(AuthError):
            key_principal(f"made-up-{i}", configured)
    assert sorted(presented for presented, _ in no_kept_keys) == keys[:3]


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


@pytest.mark.parametrize(
    ("claims", "outcome"),
    [
        ({}, Role.reader),
        ({"roles": ["Operator"]}, Role.operator),
        ({"roles": ["Reader", "Operator"]}, Role.operator),
        ({"iss": ISSUER_V1}, Role.reader),
        ({"roles": []}, 403),
        ({"roles": ["Admin"]}, 403),
        ({"roles": "Reader"}, 403),
        ({"iss": "https://login.microsoftonline.com/other-tenant/v2.0"}, 401),
        ({"aud": "api://someone-else"}, 401),
        ({"expires_in": -30}, Role.reader),  # within the clock-skew leeway
        ({"expires_in": -120}, 401),
        ({"exp": None}, 401),
    ],
)
def test_bearer_tokens_over_a_real_jwks(
    signing_key: rsa.RSAPrivateKey, jwt_settings: Settings, claims: dict[str, Any], outcome: int | Role
) -> None:
    headers = {"Authorization": f"Bearer {token(signing_key, **claims)}"}
    if isinstance(outcome, Role):
        assert authenticate(headers, jwt_settings).role == outcome
    else:
        with pytest.raises(AuthError) as err:
            authenticate(headers, jwt_settings)
        assert err.value.status == outcome


def test_token_signed_by_another_key_is_rejected(other_key: rsa.RSAPrivateKey, jwt_settings: Settings) -> None:
    with pytest.raises(AuthError) as err:
        authenticate({"Authorization": f"Bearer {token(other_key)}"}, jwt_settings)
    assert err.value.status == 401


def test_hs256_token_with_the_public_key_as_secret_is_rejected(
    signing_key: rsa.RSAPrivateKey, jwt_settings: Settings
) -> None:
    # Algorithm confusion: only RS256 is accepted.
    forged = jwt.encode(
        {"iss": ISSUER_V2, "aud": AUDIENCE, "exp": int(time.time()) + 60, "roles": ["Operator"]}, "k" * 32
    )
    with pytest.raises(AuthError):
        bearer_principal(forged, jwt_settings, lambda t, s: signing_key.public_key())


def test_api_key_wins_over_bearer_when_both_are_sent(signing_key: rsa.RSAPrivateKey, jwt_settings: Settings) -> None:
    headers = {"X-API-Key": "wrong", "Authorization": f"Bearer {token(signing_key, roles=['Operator'])}"}
    with pytest.raises(AuthError):
        authenticate(headers, jwt_settings)


def test_unreachable_jwks_is_a_503_with_retry_after_not_a_401(signing_key: rsa.RSAPrivateKey) -> None:
    from bench.devhost_process import free_port

    port = free_port()  # closed again: nothing listens there
    settings = Settings(AUTH_TENANT_ID=TENANT, AUTH_AUDIENCE=AUDIENCE, AUTH_JWKS_URL=f"http://127.0.0.1:{port}/keys")
    with pytest.raises(AuthError) as err:
        authenticate({"Authorization": f"Bearer {token(signing_key)}"}, settings)
    assert err.value.status == 503 and int(err.value.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("bearer_enabled", "offers_bearer"), [(True, True), (False, False)])
def test_the_401_text_offers_bearer_only_where_enabled(
    jwt_settings: Settings, bearer_enabled: bool, offers_bearer: bool
) -> None:
    settings = jwt_settings if bearer_enabled else Settings(API_KEYS=jwt_settings.API_KEYS)
    with pytest.raises(AuthError) as err:
        authenticate({}, settings)
    assert ("Bearer" in err.value.detail) is offers_bearer


def test_api_key_principal_is_the_key_id_never_the_key() -> None:
    settings = Settings(API_KEYS=f"reader:{sha('k1')},reader:{sha('k2')}")
    first, second = (authenticate({"X-API-Key": key}, settings) for key in ("k1", "k2"))
    assert first.subject == f"key:{sha('k1')[:12]}" and first.subject != second.subject
    assert "k1" not in first.subject.removeprefix("key:")
