"""Azure SDK failures that retrying later may cure, raised as StoreUnavailable (Cosmos and Blob adapters)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from stores.errors import StoreUnavailable

# HTTP statuses of a store that may answer later: timeout, throttling, Cosmos "retry with", server errors.
TRANSIENT_STATUSES = frozenset({408, 429, 449, 500, 502, 503, 504})


def _retry_after_hint(exc: HttpResponseError) -> int | None:
    """Seconds from x-ms-retry-after-ms (Cosmos) or Retry-After (Storage), rounded up; None without one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if "x-ms-retry-after-ms" in headers:
            return max(1, math.ceil(float(headers["x-ms-retry-after-ms"]) / 1000))
        if "Retry-After" in headers:
            return max(1, math.ceil(float(headers["Retry-After"])))
    except ValueError:
        return None
    return None


@contextmanager
def azure_faults_as_unavailable(store: str, also: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turn an Azure SDK failure that retrying later may cure into StoreUnavailable; others pass through.

    `also`: the SDK's own timeout types that are not HttpResponseError (Cosmos's CosmosClientTimeoutError).
    """
    broken: tuple[type[Exception], ...] = (ServiceRequestError, ServiceResponseError, *also)
    try:
        yield
    except broken as exc:  # refused, reset, timed out
        raise StoreUnavailable(store, type(exc).__name__) from exc
    except HttpResponseError as exc:
        if exc.status_code not in TRANSIENT_STATUSES:
            raise
        raise StoreUnavailable(store, f"HTTP {exc.status_code}", _retry_after_hint(exc)) from exc
