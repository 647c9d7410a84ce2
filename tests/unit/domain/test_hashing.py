"""Canonical JSON and content hashes: one byte form per content, whatever the key order or number form."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest

from domain.hashing import canonical_json, content_hash, with_content_hash


def sample_doc(**extra: Any) -> dict[str, Any]:
    """The one factory of documents to hash."""
    return {
        "id": "93:2024-06-15",
        "region_name": "Provence-Alpes-Côte d'Azur",
        "totals": {"mwh": 12.5, "ci": None},
    } | extra


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1.5, None, True]}, '{"a":[1.5,null,true],"b":1}'),
        ({"x": 100.0}, '{"x":100}'),
        ({"x": -0.0}, '{"x":0}'),
        ({"x": 0.1 + 0.2}, '{"x":0.3}'),
        ({"x": 1.0000004}, '{"x":1}'),
        ({"x": 2.5e-7}, '{"x":0}'),
        ({"nom": "Île-de-France"}, '{"nom":"Île-de-France"}'),
        ({"t": (1, 2)}, '{"t":[1,2]}'),
    ],
)
def test_canonical_json(value: Any, expected: str) -> None:
    assert canonical_json(value) == expected.encode("utf-8")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json({"x": bad})


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_hash_is_sha256_of_the_canonical_json_without_the_hash_and_system_keys() -> None:
    doc = sample_doc(content_hash="stale", _etag='"0x1"', _ts=1700000000)
    expected = hashlib.sha256(
        b'{"id":"93:2024-06-15","region_name":"Provence-Alpes-C\xc3\xb4te d\'Azur","totals":{"ci":null,"mwh":12.5}}'
    ).hexdigest()
    assert content_hash(doc) == expected
    assert with_content_hash(sample_doc())["content_hash"] == expected


@pytest.mark.parametrize(
    ("variant", "same"),
    [
        (dict(reversed(list(sample_doc().items()))), True),  # key order
        (sample_doc(totals={"ci": None, "mwh": 12.5}), True),
        (json.loads(json.dumps(sample_doc())), True),  # a JSON round trip
        (sample_doc(totals={"mwh": 12.5, "ci": 0}), False),  # missing is not zero
        (sample_doc(totals={"mwh": 12.6, "ci": None}), False),
        (sample_doc(extra=1), False),
    ],
)
def test_the_hash_follows_content_only(variant: dict[str, Any], same: bool) -> None:
    assert (content_hash(variant) == content_hash(sample_doc())) is same


def test_the_fast_path_matches_on_canonical_numbers_only() -> None:
    canonical = sample_doc(totals={"mwh": 12, "ci": 1.5})
    assert content_hash(canonical, numbers_canonical=True) == content_hash(canonical)
    floaty = sample_doc(totals={"mwh": 12.0, "ci": 1.5})
    assert content_hash(floaty) == content_hash(canonical)
    # The fast path trusts its caller: with a non-canonical number it differs, which is why only the
    # aggregation (whose numbers are canonical, see test_aggregate) uses it.
    assert content_hash(floaty, numbers_canonical=True) != content_hash(canonical)
