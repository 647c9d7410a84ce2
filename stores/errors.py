"""Store failures the callers handle: a store that cannot answer now (the API maps it to 503 + Retry-After)."""

from __future__ import annotations


class StoreUnavailable(Exception):
    """A store did not answer in time or refused for now (throttled, unavailable, reset, timed out).

    `retry_after_seconds` is the store's own hint when it gave one, else None (the caller picks a default).
    """

    def __init__(self, store: str, reason: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(f"{store} unavailable: {reason}")
        self.store = store
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds
