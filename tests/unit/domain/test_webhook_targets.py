"""Which webhook targets are refused: checked on the resolved addresses, never on the URL's text."""

from __future__ import annotations

import pytest

from domain.webhook_targets import Resolver, UnsafeTarget, check_target


def resolver(*addresses: str) -> Resolver:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["127.0.0.1"], "loopback"),
        (["::1"], "loopback"),
        (["10.0.0.1"], "private"),
        (["192.168.1.2"], "private"),
        (["fd00::1"], "private"),
        (["169.254.169.254"], "link-local"),
        (["fe80::1"], "link-local"),
        (["224.0.0.1"], "multicast"),
        (["0.0.0.0"], "unspecified"),
        (["100.64.0.1"], "non-public"),  # shared address space (carrier-grade NAT)
        (["240.0.0.1"], "private|reserved"),
        (["93.184.215.14", "10.0.0.1"], "private"),  # one bad address among good ones is enough
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(addresses: list[str], reason: str) -> None:
    with pytest.raises(UnsafeTarget, match=reason):
        check_target("https://hooks.example.org/x", False, resolver(*addresses))


def test_a_public_name_passes_and_loopback_only_with_the_local_setting() -> None:
    assert check_target("https://hooks.example.org/x", False, resolver("93.184.215.14")) == ["93.184.215.14"]
    assert check_target("http://localhost:8080/x", True, resolver("127.0.0.1")) == ["127.0.0.1"]
    with pytest.raises(UnsafeTarget, match="https"):
        check_target("http://hooks.example.org/x", False, resolver("93.184.215.14"))
    with pytest.raises(UnsafeTarget, match="private"):  # the local setting allows loopback only
        check_target("http://hooks.example.org/x", True, resolver("10.1.2.3"))
