"""POST one webhook delivery, refusing non-public targets at the connection itself.

http.client (no redirect is ever followed: a 3xx is an answer like any other); the connection is opened to an
address that was resolved and checked in the same step (domain.webhook_targets), so a name that resolves
elsewhere between subscription and delivery (DNS rebinding) is refused; TLS keeps the name for SNI and
certificate checks. Connect and read timeouts; at most `max_response_bytes` of the answer are read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.webhook_targets import (
    Resolver,
    UnsafeTarget,
    checked_addresses,
    default_port,
    parse_target,
    system_resolver,
)


@dataclass(frozen=True)
class SendPolicy:
    allow_loopback: bool = False
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 10.0
    max_response_bytes: int = 64 * 1024


@dataclass(frozen=True)
class SendResult:
    status: int | None  # the receiver's HTTP status; None when no answer (refused target, network error)
    latency_ms: int
    error: str | None  # why it is not a success (None for a 2xx)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _guarded_connect(
    host: str, port: int, policy: SendPolicy, resolve: Resolver
) -> Any:  # the signature http.client calls: (address, timeout, source_address)
    def connect(address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        last: OSError | None = None
        for ip in checked_addresses(host, port, policy.allow_loopback, resolve):
            try:
                sock = socket.create_connection((ip, port), policy.connect_timeout_seconds, source_address)
            except OSError as exc:
                last = exc
                continue
            sock.settimeout(policy.read_timeout_seconds)
            return sock
        raise last or OSError(f"no address of {host} answered")

    return connect


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: SendPolicy,
    resolve: Resolver = system_resolver,
    tls: ssl.SSLContext | None = None,
) -> SendResult:
    """POST `body` to `url`; the result, never an exception for the receiver's or the network's failures."""
    started = time.perf_counter()

    def done(status: int | None, error: str | None) -> SendResult:
        return SendResult(status, int((time.perf_counter() - started) * 1000), error)

    try:
        parts = parse_target(url, policy.allow_loopback)
        assert parts.hostname is not None
        port = default_port(parts)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname, port, timeout=policy.read_timeout_seconds, context=tls or ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, port, timeout=policy.read_timeout_seconds)
        conn._create_connection = _guarded_connect(parts.hostname, port, policy, resolve)  # type: ignore[attr-defined]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
            response = conn.getresponse()
            response.read(policy.max_response_bytes)  # the rest is dropped with the connection
            status = response.status
        finally:
            conn.close()
    except UnsafeTarget as exc:
        return done(None, f"refused target: {exc}")
    except (OSError, http.client.HTTPException) as exc:
        return done(None, f"{type(exc).__name__}: {exc}"[:500])
    if 300 <= status < 400:
        return done(status, f"redirect {status} not followed")
    return done(status, None if 200 <= status < 300 else f"HTTP {status}")
