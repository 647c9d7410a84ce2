"""The stores of this worker, imported lazily so that importing a route module never opens a connection."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any


def stores() -> Any:
    """`stores.factory.get_read_stores()`: Stores(gold, documents, files) with the reads' short policy."""
    return _get_read_stores()()


@cache
def _get_read_stores() -> Callable[[], Any]:
    # Imported on the first call, then kept: an import statement costs ~0.7 µs, on every read (twice).
    from stores.factory import get_read_stores

    return get_read_stores
