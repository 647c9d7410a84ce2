"""The stores of this worker, imported lazily so that importing a route module never opens a connection."""

from __future__ import annotations

from typing import Any


def stores() -> Any:
    """`stores.factory.get_read_stores()`: Stores(gold, documents, files) with the reads' short policy."""
    from stores.factory import get_read_stores

    return get_read_stores()
