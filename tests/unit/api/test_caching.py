"""Caching policy: ETags from content hashes, finality decides Cache-Control, gzip negotiation."""

from __future__ import annotations

import gzip

import pytest

from api import caching


@pytest.mark.parametrize(("final", "expected"), [(True, caching.IMMUTABLE), (False, caching.SHORT)])
def test_cache_control_by_finality(final: bool, expected: str) -> None:
    assert caching.cache_control(final) == expected


def test_immutable_policy_is_one_year() -> None:
    assert caching.IMMUTABLE == "public, max-age=31536000, immutable"


def test_combined_etag_changes_with_any_hash_or_the_query() -> None:
    base = caching.combined_etag(["a", "b"], "q=1")
    assert base == caching.combined_etag(["a", "b"], "q=1")
    assert base != caching.combined_etag(["a", "c"], "q=1")
    assert base != caching.combined_etag(["a", "b"], "q=2")
    assert base.startswith('"') and base.endswith('"')


@pytest.mark.parametrize(
    ("header", "matched"),
    [(None, False), ("", False), ('"h"', True), ('W/"h"', True), ('"a" , "h"', True), ("*", True), ('"hh"', False)],
)
def test_matches(header: str | None, matched: bool) -> None:
    assert caching.matches(header, '"h"') is matched


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("*", True),
        ("deflate, gzip;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=x", False),
        ("br", False),
        ("", False),
        ("identity, " * 20 + "gzip", True),  # longer than the values kept: parsed each time, same answer
        ("br, " * 40 + "gzip;q=0", False),
    ],
)
def test_accepts_gzip(accept: str, ok: bool) -> None:
    assert caching.accepts_gzip(accept) is ok
    assert caching.accepts_gzip(accept) is ok  # the kept answer too


def test_accept_encoding_values_a_client_varies_are_kept_bounded() -> None:
    for n in range(500):
        assert caching.accepts_gzip(f"gzip;q=0.{n % 9 + 1}, x-{n}") is True
    info = caching._accepts_gzip_kept.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize <= 64


def test_gzip_is_deterministic_and_reversible() -> None:
    data = b"x" * 5000
    assert caching.gzip_bytes(data) == caching.gzip_bytes(data)
    assert gzip.decompress(caching.gzip_bytes(data)) == data


@pytest.mark.parametrize(
    ("policy", "authenticated", "expected"),
    [
        (caching.IMMUTABLE, True, "private, max-age=31536000, immutable"),
        (caching.SHORT, True, "private, max-age=300"),
        (caching.SHORT, False, caching.SHORT),
        (caching.NO_STORE, True, caching.NO_STORE),
    ],
)
def test_keyed_responses_are_private(policy: str, authenticated: bool, expected: str) -> None:
    assert caching.for_caller(policy, authenticated) == expected


def test_gzip_form_has_its_own_etag() -> None:
    assert caching.gzip_etag('"h"') == '"h-gzip"'


@pytest.mark.parametrize(
    ("header", "current", "matched"),
    [
        ('"h-gzip"', '"h"', True),
        ('"h"', '"h-gzip"', True),
        ('W/"h-gzip"', '"h"', True),
        ('"h-gzip"', '"g"', False),
        ('"hgzip"', '"h"', False),
    ],
)
def test_either_form_matches_the_content(header: str, current: str, matched: bool) -> None:
    assert caching.matches(header, current) is matched
