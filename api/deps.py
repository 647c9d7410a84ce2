"""The stores of this worker, imported lazily so that importing a route module never opens a connection."""

from __future__ import annotations

from typing import Any


def stores() -> Any:
    """`stores.factory.get_stores()`: Stores(gold, documents, files), built once per worker."""
    from stores.factory import get_stores

    return get_stores()
