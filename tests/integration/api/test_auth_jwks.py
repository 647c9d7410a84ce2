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

from api.auth import (
    AuthError,
    Role,
    authenticate,
    bearer_principal,
)
from core.settings import Settings

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://eco2mix"
ISSUER_V2 = f"https://login.microsoftonline.com/{TENANT}/v2.0"
ISSUER_V1 = f"https://sts.windows.net/{TENANT}/"


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
    from devhost.testing import free_port

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


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
