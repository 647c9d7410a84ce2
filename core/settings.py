"""One typed settings object, read from the environment (app settings in Azure)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every app setting the code reads. Backends are chosen by which settings are present."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    DATA_DIR: Path = Path(".data")

    # Gold SQL. Default: embedded SQLite file under DATA_DIR. With GOLD_ODBC_CONNECTION_STRING: pyodbc
    # (SQLite ODBC driver in tests, Azure SQL with user/password). With GOLD_SQL_SERVER: Azure SQL
    # through pyodbc and a managed-identity token.
    GOLD_SQLITE_PATH: Path | None = None
    GOLD_ODBC_CONNECTION_STRING: str | None = None
    GOLD_SQL_SERVER: str | None = None
    GOLD_SQL_DATABASE: str | None = None
    GOLD_ODBC_DRIVER: str = "ODBC Driver 18 for SQL Server"
    # A Gold query that runs (or waits on a lock) longer than this fails; the activity is retried.
    GOLD_QUERY_TIMEOUT_SECONDS: int = Field(default=300, ge=1, le=3600)

    # Documents. Default: embedded SQLite store. With COSMOS_ENDPOINT: Cosmos DB (key when given,
    # managed identity otherwise).
    COSMOS_ENDPOINT: str | None = None
    COSMOS_KEY: str | None = None
    COSMOS_DATABASE: str = "eco2mix"
    COSMOS_CONTAINER: str = "aggregates"
    COSMOS_VERIFY_TLS: bool = True  # False only for the local emulator's self-signed certificate
    # Embedded store, API reads: the file's first N MiB read through a memory map (0: by pread). Pages read stay
    # in the OS page cache and count in the reading process's RSS: 256 MiB holds a year's store (~165 MB).
    EMBEDDED_DOCUMENTS_MMAP_MIB: int = Field(default=256, ge=0, le=65536)

    # Files. Default: a folder under DATA_DIR with HMAC-signed links served by devhost. With
    # BLOB_CONNECTION_STRING (Azurite, account key) or BLOB_ACCOUNT_URL (managed identity): Blob Storage.
    BLOB_CONNECTION_STRING: str | None = None
    BLOB_ACCOUNT_URL: str | None = None
    BLOB_CONTAINER: str = "exports"
    FILES_SIGNING_KEY: str | None = None  # embedded store; generated under DATA_DIR when unset
    PUBLIC_BASE_URL: str = "http://127.0.0.1:7071"  # where devhost serves embedded downloads
    DOWNLOAD_TTL_SECONDS: int = Field(default=600, ge=30, le=900)

    # Store calls of the API (reads): few, short attempts, then 503 + Retry-After rather than a hang.
    STORE_READ_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0, le=60)  # per attempt (connect, then read)
    STORE_READ_ATTEMPTS: int = Field(default=2, ge=1, le=10)
    STORE_READ_THROTTLE_WAIT_SECONDS: int = Field(default=1, ge=1, le=30)  # total wait on 429s
    STORE_RETRY_AFTER_SECONDS: int = Field(default=5, ge=1, le=3600)  # Retry-After when the store gave none
    # The API's cache in front of Cosmos DB, per instance (stores/reads_cache.py): rendered point reads and range
    # hashes, at most DOCUMENT_CACHE_MIB (0: none). A final day is kept until evicted; anything else is answered
    # from it for at most DOCUMENT_CACHE_STALE_SECONDS after it was read (a materialization is seen within that).
    DOCUMENT_CACHE_MIB: int = Field(default=128, ge=0, le=4096)
    DOCUMENT_CACHE_STALE_SECONDS: float = Field(default=30.0, ge=0, le=60)
    # Store calls of the materialization: patient (throttling is frequent on serverless during a backfill).
    STORE_BATCH_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0, le=600)  # per attempt
    STORE_BATCH_ATTEMPTS: int = Field(default=12, ge=1, le=50)
    STORE_BATCH_THROTTLE_WAIT_SECONDS: int = Field(default=60, ge=1, le=600)

    # HTTP API.
    API_KEYS: str | None = None  # "role:sha256hex,role:sha256hex"
    AUTH_TENANT_ID: str | None = None
    AUTH_AUDIENCE: str | None = None
    AUTH_JWKS_URL: str | None = None  # defaults to the tenant's Entra ID JWKS
    AUTH_JWKS_CACHE_SECONDS: int = Field(default=3600, ge=60, le=86400)  # a rotated-out key verifies ≤ this long
    # While the JWKS cannot be fetched, the last good keys keep verifying this long past their cache time (an
    # Entra ID outage is not a 503 for every bearer request); 0 turns the grace off.
    AUTH_JWKS_STALE_GRACE_SECONDS: int = Field(default=21600, ge=0, le=604800)
    AUTH_CLOCK_SKEW_SECONDS: int = Field(default=60, ge=0, le=300)  # leeway on exp/nbf/iat
    CORS_ALLOWED_ORIGINS: str = ""  # comma-separated; empty disables CORS headers
    # Scheme, host and API path of the API as callers reach it (the gateway's URL behind API Management), for the
    # absolute links of responses (`next`, `href`, `links.self`). Unset: links name the request's own host only
    # when it is a loopback address outside Azure (devhost); otherwise they are relative (path only). The Host
    # header is the caller's to choose: it is never echoed into a link otherwise.
    API_PUBLIC_URL: str | None = None
    # Proxies in front of the Functions host that append the caller's address to X-Forwarded-For (1 behind API
    # Management, 0 when callers reach the app directly). The client address of the per-address rate limits is
    # the entry that many places left of the last one, which the Functions front end itself appends.
    TRUSTED_PROXY_HOPS: int = Field(default=0, ge=0, le=5)
    # Per credential and instance (token bucket): RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_SECONDS; 0 disables.
    RATE_LIMIT_REQUESTS: int = Field(default=1200, ge=0, le=1_000_000)
    RATE_LIMIT_WINDOW_SECONDS: int = Field(default=60, ge=1, le=86400)
    # Per client address and instance, per RATE_LIMIT_WINDOW_SECONDS: requests to public routes, and (a separate
    # bucket) requests whose credential is refused (401); 0 disables both.
    RATE_LIMIT_ANONYMOUS_REQUESTS: int = Field(default=300, ge=0, le=1_000_000)
    # Seconds an instance reuses its public /v1/health answer (one set of store pings per window); 0: every request.
    HEALTH_CACHE_SECONDS: float = Field(default=5.0, ge=0, le=300)

    # Bulk exports built on request (api/export.py): one build per file at a time, identical requests wait for it
    # up to EXPORT_BUILD_WAIT_SECONDS, at most EXPORT_MAX_CONCURRENT_BUILDS builds per instance (a year of every
    # region is seconds of CPU and ~100 MiB); beyond either: 503 + Retry-After EXPORT_RETRY_AFTER_SECONDS. A build
    # takes EXPORT_BUILD_RATE_COST tokens of the caller's rate limit (a redirect to a built file takes one).
    EXPORT_MAX_CONCURRENT_BUILDS: int = Field(default=2, ge=1, le=64)
    EXPORT_BUILD_WAIT_SECONDS: float = Field(default=60.0, ge=0, le=600)
    EXPORT_RETRY_AFTER_SECONDS: int = Field(default=10, ge=1, le=3600)
    EXPORT_BUILD_RATE_COST: int = Field(default=60, ge=1, le=1_000_000)

    # Materialization.
    MATERIALIZE_SCHEDULE: str = "0 */15 * * * *"
    MATERIALIZE_BATCH_SIZE: int = Field(default=24, ge=1, le=500)
    MATERIALIZE_WATERMARK_OVERLAP_SECONDS: int = Field(
        default=3600,
        ge=0,
        le=7 * 86400,
        description="The incremental run reads Gold rows with loaded_at > watermark minus this many seconds: "
        "rows stamped before the watermark that commit later (a late commit) are still read within the "
        "window; days re-read unchanged are skipped by content hash. The Gold loader must commit within it "
        "(infra/sql/README.md). 0: no overlap.",
    )
    MATERIALIZE_RETRY_BASE_SECONDS: int = Field(
        default=900,
        ge=1,
        le=86400,
        description="Back-off of a quarantined region-month once set aside: the n-th failing run in a row waits "
        "base x 2^(n-1) seconds, capped by MATERIALIZE_RETRY_MAX_SECONDS (a Gold change retries it at once).",
    )
    MATERIALIZE_RETRY_MAX_SECONDS: int = Field(
        default=86400, ge=1, le=30 * 86400, description="Longest wait between two retries of a set-aside region-month."
    )
    MATERIALIZE_SET_ASIDE_AFTER_FAILURES: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Failing runs in a row after which a region-month is set aside (back-off); before, every run "
        "retries it.",
    )

    APPLICATIONINSIGHTS_CONNECTION_STRING: str | None = None
    # "ClientId=<client id>;Authorization=AAD": ingest with that managed identity (local auth disabled).
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: str | None = None

    @property
    def gold_sqlite_path(self) -> Path:
        return self.GOLD_SQLITE_PATH or self.DATA_DIR / "gold.sqlite"

    @property
    def documents_backend(self) -> str:
        return "cosmos" if self.COSMOS_ENDPOINT else "embedded"

    @property
    def files_backend(self) -> str:
        return "blob" if (self.BLOB_CONNECTION_STRING or self.BLOB_ACCOUNT_URL) else "embedded"

    @property
    def gold_backend(self) -> str:
        return "odbc" if (self.GOLD_ODBC_CONNECTION_STRING or self.GOLD_SQL_SERVER) else "sqlite"

    @model_validator(mode="after")
    def _no_embedded_store_in_azure(self) -> Self:
        """Fail closed: in Azure a missing backend setting would otherwise serve (and write) an empty local store
        on each instance's disk, with every check green. The worker refuses to start instead."""
        if not running_in_azure():
            return self
        embedded = [
            f"{port} (set {needed})"
            for port, backend, needed in (
                ("documents", self.documents_backend, "COSMOS_ENDPOINT"),
                ("files", self.files_backend, "BLOB_ACCOUNT_URL"),
                ("Gold", self.gold_backend, "GOLD_SQL_SERVER"),
            )
            if backend in ("embedded", "sqlite")
        ]
        if embedded:
            raise ValueError(
                "Running in Azure (WEBSITE_INSTANCE_ID is set) but these stores resolve to the embedded local backend: "
                + ", ".join(embedded)
                + ". Refusing to start rather than serve an empty store."
            )
        return self


def running_in_azure() -> bool:
    """True on an Azure Functions instance: the platform sets WEBSITE_INSTANCE_ID (devhost and tests do not)."""
    return bool(os.environ.get("WEBSITE_INSTANCE_ID"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this worker, read once."""
    return Settings()
