"""Canonical JSON and the content hash of a document.

The hash decides whether a materialized document is rewritten, so it must depend on the content only:
keys sorted, no whitespace, UTF-8, and numbers in one form. Floats are rounded to `FLOAT_DECIMALS` and
an integral float is written as an integer, so `100.0` and `100` (what a JSON store such as Cosmos may
hand back) hash alike, and `-0.0` hashes as `0`. NaN and infinities are refused: a missing value is null.
Top-level keys starting with `_` are left out: they are store system properties (Cosmos `_etag`, `_ts`...),
not content, so a document read back from the store hashes as it did when written.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any, Final

import orjson

HASH_FIELD: Final[str] = "content_hash"
FLOAT_DECIMALS: Final[int] = 6  # finer than any value the documents carry (3 decimals), coarser than float noise


def _canonical_float(value: float) -> float | int:
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r} in a document: a missing value must be None")
    rounded = round(value, FLOAT_DECIMALS)
    return int(rounded) if rounded.is_integer() else rounded


def _canonical_value(value: Any) -> Any:
    # Exact-type dispatch first: documents hold tens of thousands of values and this runs on each.
    kind = type(value)
    if kind is float:
        return _canonical_float(value)
    if kind is dict:
        return {str(k): _canonical_value(v) for k, v in value.items()}
    if kind is list:
        return [_canonical_value(v) for v in value]
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return _canonical_float(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_value(v) for v in value]
    raise TypeError(f"cannot canonicalize {type(value).__name__} in a document")


def _dumps(value: Any) -> bytes:
    # orjson writes the same bytes as json.dumps(sort_keys, compact, ensure_ascii=False) for these values, four
    # times faster; it would write NaN as null, but both callers hand it numbers already checked finite.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonical_json(value: Any) -> bytes:
    """The one byte form of `value`: sorted keys, compact separators, UTF-8, normalized numbers."""
    return _dumps(_canonical_value(value))


def content_hash(doc: Mapping[str, Any], *, numbers_canonical: bool = False) -> str:
    """sha256 hex of the canonical JSON of every field of `doc` except `content_hash` and `_` system keys.

    `numbers_canonical=True` skips the number walk (a third of the time of building a month of days) for
    documents whose floats are already rounded and integral values already ints, as domain.aggregate
    builds them; the unit tests check that both paths give the same hash on built documents.
    """
    body = {k: v for k, v in doc.items() if k != HASH_FIELD and not k.startswith("_")}
    return hashlib.sha256(_dumps(body) if numbers_canonical else canonical_json(body)).hexdigest()


def with_content_hash(doc: dict[str, Any], *, numbers_canonical: bool = False) -> dict[str, Any]:
    """`doc` with its `content_hash` set (in place, returned for chaining)."""
    doc[HASH_FIELD] = content_hash(doc, numbers_canonical=numbers_canonical)
    return doc
