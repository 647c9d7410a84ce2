"""Where a webhook may be delivered: public addresses only (no server-side request forgery).

A target URL is refused unless it is `https` (plain `http` only with the local-development setting) and every
address its host resolves to is a public unicast address: loopback, private, link-local (the cloud metadata
address 169.254.169.254 included), shared, multicast, unspecified and reserved addresses are refused, also
when written as an IPv4-mapped IPv6 address or behind a name (checked after resolution, never on the text).
The check runs when a subscription is made and again at each connection (stores/webhook_sender.py connects to
the address it checked), so a name that later resolves elsewhere (DNS rebinding) is refused too.
Loopback targets pass only with `allow_loopback`, the local-development setting the Bicep never sets.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the addresses it resolves to (socket.getaddrinfo in production).
Resolver = Callable[[str, int], list[str]]
MAX_URL_LENGTH = 2048


class UnsafeTarget(ValueError):
    """A target the app must not connect to; the message says why (shown to the subscriber)."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA), as a connection would try them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeTarget(f"the host {host!r} does not resolve ({exc})") from None
    return [str(info[4][0]) for info in infos]


def refusal(address: IpAddress, allow_loopback: bool) -> str | None:
    """Why `address` is not a delivery target (None: it is a public unicast address)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return refusal(mapped, allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address (the cloud metadata service among them)"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved or non-public address"
    return None


def parse_target(url: str, allow_loopback: bool) -> SplitResult:
    """The URL's parts when its form is acceptable (scheme, host, no credentials); UnsafeTarget otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL ({exc})") from None
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeTarget("must be an https URL" if not allow_loopback else "must be an http or https URL")
    if not parts.hostname:
        raise UnsafeTarget("has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("must not carry credentials")
    if parts.fragment:
        raise UnsafeTarget("must not carry a fragment")
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def checked_addresses(host: str, port: int, allow_loopback: bool, resolve: Resolver) -> list[str]:
    """The addresses of `host` when every one of them may be reached; UnsafeTarget naming the first that may not."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else resolve(host, port)
    if not addresses:
        raise UnsafeTarget(f"the host {host!r} resolves to no address")
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]), allow_loopback)
        if reason is not None:
            shown = text if literal is not None else f"{host} ({text})"
            raise UnsafeTarget(f"{shown} is {reason}, not a public address")
    return addresses


def check_target(url: str, allow_loopback: bool, resolve: Resolver = system_resolver) -> list[str]:
    """The checked addresses of `url`'s host; UnsafeTarget when the URL may not be a delivery target."""
    parts = parse_target(url, allow_loopback)
    assert parts.hostname is not None
    return checked_addresses(parts.hostname, default_port(parts), allow_loopback, resolve)
