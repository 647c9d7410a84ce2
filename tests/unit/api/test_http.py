"""The envelope: problem+json shape, request ids, methods, CORS, errors without stack traces, gzip, 304."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import re
from typing import Any

import azure.functions as func
import pytest

from api import ratelimit
from api.auth import Role
from api.http import (
    ApiError,
    ParameterError,
    Reply,
    RequestContext,
    Route,
    base_url,
    new_request_id,
    request_header,
    respond,
    respond_async,
)
from core.settings import Settings
from core.telemetry import current_log_context
from tests.support.api_documents import OPERATOR_KEY, READER_KEY, MakeRequest

ROUTE = Route("thing", "/v1/thing", {"GET": Role.reader, "POST": Role.operator})
PUBLIC = Route("open", "/v1/open", {"GET": None})
PROBLEM_KEYS = {"type", "title", "status", "detail", "request_id"}


def ok(ctx: RequestContext) -> Reply:
    return Reply({"hello": "world", "pad": "x" * 2000}, etag='"abc"', cache_control="public, max-age=300")


def boom(ctx: RequestContext) -> Reply:
    raise RuntimeError("secret connection string Server=db;Password=hunter2")


def bad(ctx: RequestContext) -> Reply:
    raise ApiError(400, "start_date is wrong.", errors=[ParameterError("start_date", "must be a date")])


def assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = json.loads(resp.get_body())
    assert PROBLEM_KEYS <= body.keys() <= PROBLEM_KEYS | {"errors"}
    assert body["status"] == status and body["request_id"] == resp.headers["X-Request-ID"]
    assert body["type"].startswith("urn:eco2mix:problem:")
    for error in body.get("errors", []):
        assert set(error) == {"parameter", "message"}
    return body


@pytest.mark.parametrize(
    ("method", "key", "handler", "status"),
    [
        ("GET", None, ok, 401),
        ("GET", "wrong-key", ok, 401),
        ("POST", READER_KEY, ok, 403),
        ("PUT", READER_KEY, ok, 405),
        ("PATCH", None, ok, 405),
        ("GET", READER_KEY, bad, 400),
        ("GET", READER_KEY, boom, 500),
    ],
)
def test_every_error_has_the_problem_shape(
    make_request: MakeRequest, settings: Settings, method: str, key: str | None, handler: Any, status: int
) -> None:
    resp = respond(make_request(method, ROUTE.path, key=key), ROUTE, handler, settings)
    assert_problem(resp, status)


def test_401_carries_a_challenge_and_405_the_allowed_methods(make_request: MakeRequest, settings: Settings) -> None:
    unauthorized = respond(make_request("GET", ROUTE.path, key=None), ROUTE, ok, settings)
    assert "ApiKey" in unauthorized.headers["WWW-Authenticate"]
    not_allowed = respond(make_request("DELETE", ROUTE.path), ROUTE, ok, settings)
    assert not_allowed.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_unexpected_error_is_500_without_details_and_logged_with_request_id(
    make_request: MakeRequest, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    req = make_request("GET", ROUTE.path, headers={"X-Request-ID": "trace-42"})
    with caplog.at_level(logging.ERROR):
        resp = respond(req, ROUTE, boom, settings)
    body = assert_problem(resp, 500)
    text = resp.get_body().decode()
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert body["request_id"] == "trace-42"
    assert any("trace-42" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("incoming", "echoed"),
    [
        ("abc-123_x.y", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("bad id with spaces", False),
        ("<script>", False),
        ("", False),
    ],
)
def test_request_id_is_echoed_only_when_safe(
    make_request: MakeRequest, settings: Settings, incoming: str, echoed: bool
) -> None:
    resp = respond(make_request("GET", PUBLIC.path, headers={"X-Request-ID": incoming}), PUBLIC, ok, settings)
    rid = resp.headers["X-Request-ID"]
    assert (rid == incoming) is echoed
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", rid)


def test_each_generated_request_id_is_new(make_request: MakeRequest, settings: Settings) -> None:
    ids = {respond(make_request("GET", PUBLIC.path), PUBLIC, ok, settings).headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)


def test_generated_request_ids_are_32_hex_digits_and_unique() -> None:
    ids = [new_request_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
    # Random, not a counter: every hex digit position takes many values (a prefix + counter would not).
    assert all(len({rid[i] for rid in ids[:200]}) > 8 for i in range(32))


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://app.example", True), ("https://evil.example", False), (None, False)],
)
def test_cors_preflight_and_simple_requests(
    make_request: MakeRequest, settings: Settings, origin: str | None, allowed: bool
) -> None:
    headers = {"Origin": origin, "Access-Control-Request-Method": "GET"} if origin else {}
    preflight = respond(make_request("OPTIONS", ROUTE.path, headers=headers, key=None), ROUTE, ok, settings)
    assert preflight.status_code == 204
    assert ("Access-Control-Allow-Origin" in preflight.headers) is allowed
    if allowed:
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]
        assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    simple = respond(make_request("GET", ROUTE.path, headers={"Origin": origin} if origin else {}), ROUTE, ok, settings)
    assert simple.status_code == 200
    assert (simple.headers.get("Access-Control-Allow-Origin") is not None) is allowed
    assert "Origin" in simple.headers["Vary"]


def test_cors_headers_absent_when_not_configured(make_request: MakeRequest) -> None:
    settings = Settings(API_KEYS=None, CORS_ALLOWED_ORIGINS="")
    resp = respond(make_request("GET", PUBLIC.path, headers={"Origin": "https://app.example"}), PUBLIC, ok, settings)
    assert "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [("gzip", True), ("br, gzip;q=0.5", True), ("gzip;q=0", False), ("identity", False), (None, False)],
)
def test_gzip_when_accepted(
    make_request: MakeRequest, settings: Settings, accept: str | None, compressed: bool
) -> None:
    headers = {"Accept-Encoding": accept} if accept else {}
    resp = respond(make_request("GET", PUBLIC.path, headers=headers), PUBLIC, ok, settings)
    raw = resp.get_body()
    assert (resp.headers.get("Content-Encoding") == "gzip") is compressed
    body = json.loads(gzip.decompress(raw) if compressed else raw)
    assert body["hello"] == "world"
    assert "Accept-Encoding" in resp.headers["Vary"]


def test_a_gzip_form_made_beforehand_is_served_as_it_is(make_request: MakeRequest, settings: Settings) -> None:
    data = json.dumps({"pad": "y" * 3000}).encode()
    prepared = gzip.compress(data, compresslevel=9, mtime=0)  # not what the envelope itself would make

    def stored(ctx: RequestContext) -> Reply:
        return Reply(data, etag='"h"', gzip_body=prepared)

    zipped = respond(make_request("GET", PUBLIC.path, headers={"Accept-Encoding": "gzip"}), PUBLIC, stored, settings)
    plain = respond(make_request("GET", PUBLIC.path), PUBLIC, stored, settings)
    assert zipped.get_body() == prepared and zipped.headers["ETag"] == '"h-gzip"'
    assert plain.get_body() == data and plain.headers["ETag"] == '"h"'


def test_small_bodies_are_not_compressed(make_request: MakeRequest, settings: Settings) -> None:
    resp = respond(
        make_request("GET", PUBLIC.path, headers={"Accept-Encoding": "gzip"}),
        PUBLIC,
        lambda c: Reply({"a": 1}),
        settings,
    )
    assert "Content-Encoding" not in resp.headers


@pytest.mark.parametrize(
    ("if_none_match", "status"), [('"abc"', 304), ('W/"abc"', 304), ('"x", "abc"', 304), ("*", 304), ('"x"', 200)]
)
def test_if_none_match(make_request: MakeRequest, settings: Settings, if_none_match: str, status: int) -> None:
    resp = respond(make_request("GET", PUBLIC.path, headers={"If-None-Match": if_none_match}), PUBLIC, ok, settings)
    assert resp.status_code == status
    assert resp.headers["ETag"] == '"abc"' and resp.headers["Cache-Control"] == "public, max-age=300"
    assert (resp.get_body() == b"") is (status == 304)


def test_head_has_headers_but_no_body(make_request: MakeRequest, settings: Settings) -> None:
    resp = respond(make_request("HEAD", PUBLIC.path), PUBLIC, ok, settings)
    assert resp.status_code == 200 and resp.get_body() == b"" and resp.headers["ETag"] == '"abc"'


def test_head_with_gzip_accepted_has_the_gzip_headers_and_makes_no_gzip_form(
    make_request: MakeRequest, settings: Settings
) -> None:
    def unmade() -> bytes:
        raise AssertionError("a HEAD answer's gzip form was made")

    def large(ctx: RequestContext) -> Reply:
        return Reply(b"[" + b"1," * 2000 + b"1]", etag='"abc"', gzip_make=unmade)

    head = respond(make_request("HEAD", PUBLIC.path, headers={"Accept-Encoding": "gzip"}), PUBLIC, large, settings)
    assert head.status_code == 200 and head.get_body() == b""
    assert head.headers["Content-Encoding"] == "gzip" and head.headers["ETag"] == '"abc-gzip"'


def test_operator_passes_operator_routes(make_request: MakeRequest, settings: Settings) -> None:
    assert respond(make_request("POST", ROUTE.path, key=OPERATOR_KEY), ROUTE, ok, settings).status_code == 200


@pytest.mark.parametrize("fails", [False, True])
@pytest.mark.parametrize("sync", [True, False])
def test_handler_logs_carry_the_request_id_and_the_binding_ends_with_the_request(
    make_request: MakeRequest, settings: Settings, sync: bool, fails: bool
) -> None:
    seen: dict[str, str] = {}

    def handler(ctx: RequestContext) -> Reply:
        seen.update(current_log_context())
        if fails:
            raise ApiError(400, "no")
        return Reply({"ok": True})

    async def async_handler(ctx: RequestContext) -> Reply:
        return handler(ctx)

    req = make_request(headers={"X-Request-ID": "trace-77"})
    if sync:
        resp = respond(req, PUBLIC, handler, settings)
    else:
        resp = asyncio.run(respond_async(req, PUBLIC, async_handler, settings))
    assert resp.status_code == (400 if fails else 200)
    assert resp.headers["X-Request-ID"] == "trace-77"
    assert seen.get("request_id") == "trace-77"
    assert "request_id" not in current_log_context()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:7071/v1/production/regional?x=1", "http://127.0.0.1:7071"),
        ("http://localhost:7071/v1/regions", "http://localhost:7071"),
        ("http://[::1]:7071/v1/regions", "http://[::1]:7071"),
        ("https://api.example.org/v1/regions", ""),  # whatever Host the caller sent: a relative link
        ("http://evil.example/v1/regions", ""),
        ("http://127.0.0.1.evil.example/v1", ""),
        ("http://localhost:x/v1", ""),
        ("ftp://127.0.0.1/v1", ""),
        ("/v1/regions", ""),
    ],
)
def test_base_url_names_the_request_host_only_when_it_is_loopback(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.delenv("WEBSITE_INSTANCE_ID", raising=False)
    req = func.HttpRequest("GET", url, body=b"")
    assert base_url(req, Settings()) == expected


def test_base_url_is_the_configured_public_url_whatever_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(API_PUBLIC_URL="https://apim-x.azure-api.net/")
    for url in ("http://127.0.0.1:7071/v1/regions", "https://func-x.azurewebsites.net/v1", "http://evil.example/"):
        assert base_url(func.HttpRequest("GET", url, body=b""), settings) == "https://apim-x.azure-api.net"


def test_base_url_in_azure_never_names_the_request_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    settings = Settings.model_construct()  # the backends' check is not what this test is about
    assert base_url(func.HttpRequest("GET", "http://127.0.0.1:7071/v1/regions", body=b""), settings) == ""


@pytest.mark.parametrize(
    ("route", "key", "cache_control"),
    [(ROUTE, READER_KEY, "private, max-age=300"), (PUBLIC, None, "public, max-age=300")],
)
def test_responses_that_need_a_key_are_private(
    make_request: MakeRequest, settings: Settings, route: Route, key: str | None, cache_control: str
) -> None:
    resp = respond(make_request("GET", route.path, key=key), route, ok, settings)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == cache_control


@pytest.mark.parametrize("accept", ["gzip", "identity"])
@pytest.mark.parametrize("cached_tag", ['"abc"', '"abc-gzip"'])
def test_304_keeps_the_200s_validators_and_vary(
    make_request: MakeRequest, settings: Settings, accept: str, cached_tag: str
) -> None:
    full = respond(make_request("GET", PUBLIC.path, headers={"Accept-Encoding": accept}), PUBLIC, ok, settings)
    expected_tag = '"abc-gzip"' if accept == "gzip" else '"abc"'
    assert full.headers["ETag"] == expected_tag
    headers = {"Accept-Encoding": accept, "If-None-Match": cached_tag}
    resp = respond(make_request("GET", PUBLIC.path, headers=headers), PUBLIC, ok, settings)
    assert resp.status_code == 304 and resp.get_body() == b""
    assert resp.headers["ETag"] == expected_tag
    for name in ("Vary", "Cache-Control"):
        assert resp.headers[name] == full.headers[name]
    assert "Content-Encoding" not in resp.headers
    assert resp.headers["Content-Type"] == "application/json" and resp.mimetype == "application/json"


def test_429_per_validated_credential_with_ratelimit_headers(make_request: MakeRequest) -> None:
    keys = ("rl-key-1", "rl-key-2")
    api_keys = ",".join(f"reader:{hashlib.sha256(k.encode()).hexdigest()}" for k in keys)
    settings = Settings(API_KEYS=api_keys, RATE_LIMIT_REQUESTS=3, RATE_LIMIT_WINDOW_SECONDS=7)
    ratelimit._limiters.clear()
    first = [respond(make_request("GET", ROUTE.path, key=keys[0]), ROUTE, ok, settings) for _ in range(4)]
    assert [r.status_code for r in first] == [200, 200, 200, 429]
    # Every keyed answer states the quota and what is left of it.
    assert [r.headers["RateLimit"].split(";")[1] for r in first] == ["r=2", "r=1", "r=0", "r=0"]
    assert all(r.headers["RateLimit-Policy"] == '"credential";q=3;w=7' for r in first)
    resp = respond(make_request("GET", ROUTE.path, key=keys[0]), ROUTE, ok, settings)
    body = assert_problem(resp, 429)
    assert body["type"] == "urn:eco2mix:problem:rate-limited"
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["RateLimit-Policy"] == '"credential";q=3;w=7'
    assert resp.headers["RateLimit"].startswith('"credential";r=0;t=')
    # Another key has its own bucket; wrong keys are 401 and take no bucket at all.
    assert respond(make_request("GET", ROUTE.path, key=keys[1]), ROUTE, ok, settings).status_code == 200
    for n in range(5):
        assert respond(make_request("GET", ROUTE.path, key=f"random-{n}"), ROUTE, ok, settings).status_code == 401
    assert len(ratelimit._limiters[(3, 7)]) == 2
    # Public routes are not this credential's bucket (their own is per address).
    public = respond(make_request("GET", PUBLIC.path), PUBLIC, ok, settings)
    assert public.status_code == 200 and "RateLimit" not in public.headers


def test_public_routes_and_refused_credentials_are_limited_per_address(make_request: MakeRequest) -> None:
    settings = Settings(API_KEYS=f"reader:{hashlib.sha256(b'good').hexdigest()}", RATE_LIMIT_ANONYMOUS_REQUESTS=2,
                        RATE_LIMIT_WINDOW_SECONDS=60, TRUSTED_PROXY_HOPS=1)  # fmt: skip
    ratelimit._address_limiters.clear()

    def call(route: Route, key: str | None, forwarded_for: str) -> func.HttpResponse:
        req = make_request("GET", route.path, key=key, headers={"X-Forwarded-For": forwarded_for})
        return respond(req, route, ok, settings)

    # Behind the gateway (1 hop): the entry left of the last is the caller; what the caller sent does not count.
    public = [call(PUBLIC, None, f"forged-{n}, 203.0.113.7, 10.0.2.4") for n in range(3)]
    assert [r.status_code for r in public] == [200, 200, 429]
    body = assert_problem(public[2], 429)
    assert body["type"] == "urn:eco2mix:problem:rate-limited" and int(public[2].headers["Retry-After"]) >= 1
    assert public[2].headers["RateLimit-Policy"] == '"address-public";q=2;w=60'
    assert call(PUBLIC, None, "203.0.113.8, 10.0.2.4").status_code == 200  # another caller
    assert call(ROUTE, "good", "203.0.113.7, 10.0.2.4").status_code == 200  # keyed routes: not this bucket
    # Refused credentials: their own bucket; once empty, the address is refused before any credential check.
    refused = [call(ROUTE, f"made-up-{n}", "203.0.113.9, 10.0.2.4").status_code for n in range(3)]
    assert refused == [401, 401, 429]
    blocked = call(ROUTE, "good", "203.0.113.9, 10.0.2.4")
    assert blocked.status_code == 429 and blocked.headers["RateLimit-Policy"] == '"address-refused";q=2;w=60'
    assert call(ROUTE, "good", "203.0.113.10, 10.0.2.4").status_code == 200
    assert call(PUBLIC, None, "203.0.113.9, 10.0.2.4").status_code == 200  # its public bucket is its own
    # 0 disables both.
    off = Settings(API_KEYS=settings.API_KEYS, RATE_LIMIT_ANONYMOUS_REQUESTS=0)
    assert respond(make_request("GET", PUBLIC.path, key=None), PUBLIC, ok, off).status_code == 200


@pytest.mark.parametrize(
    ("handler", "if_none_match", "status"), [(ok, None, 200), (ok, '"abc"', 304), (bad, None, 400), (boom, None, 500)]
)
@pytest.mark.parametrize("sync", [True, False])
def test_every_answer_to_a_keyed_request_carries_the_ratelimit_headers_once(
    make_request: MakeRequest, handler: Any, if_none_match: str | None, status: int, sync: bool
) -> None:
    settings = Settings(API_KEYS=f"reader:{hashlib.sha256(b'rl-key').hexdigest()}", RATE_LIMIT_REQUESTS=5)
    ratelimit._limiters.clear()
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    req = make_request("GET", ROUTE.path, key="rl-key", headers=headers)
    if sync:
        resp = respond(req, ROUTE, handler, settings)
    else:

        async def async_handler(ctx: RequestContext) -> Reply:
            return handler(ctx)

        resp = asyncio.run(respond_async(req, ROUTE, async_handler, settings))
    names = [name.lower() for name, _ in resp.headers.items()]
    assert resp.status_code == status
    assert names.count("ratelimit") == names.count("ratelimit-policy") == 1
    assert resp.headers["RateLimit"].startswith('"credential";r=4;')


def test_unreachable_signing_keys_give_503_problem_with_retry_after(make_request: MakeRequest) -> None:
    import socket

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    settings = Settings(AUTH_TENANT_ID="t", AUTH_AUDIENCE="a", AUTH_JWKS_URL=f"http://127.0.0.1:{port}/keys")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"aud": "a"}, key, algorithm="RS256", headers={"kid": "k"})
    req = make_request("GET", ROUTE.path, headers={"Authorization": f"Bearer {token}"}, key=None)
    resp = respond(req, ROUTE, ok, settings)
    body = assert_problem(resp, 503)
    assert int(resp.headers["Retry-After"]) > 0 and "WWW-Authenticate" not in resp.headers
    assert "retry after" in body["detail"]


@pytest.mark.parametrize(
    ("name", "expected"), [("If-None-Match", '"abc"'), ("if-none-match", '"abc"'), ("Origin", None)]
)
def test_request_header_is_the_headers_get(make_request: MakeRequest, name: str, expected: str | None) -> None:
    req = make_request(headers={"If-None-Match": '"abc"'})
    assert request_header(req, name) == expected == req.headers.get(name)
