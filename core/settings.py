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

    # Each field's description is its line of docs/configuration.md (`python -m localdev.configuration_doc`
    # writes it). json_schema_extra: "local" says why Azure never sets a local-only setting (infra/bicep sets
    # every other one), "default_text" replaces the rendered default when the value alone would mislead.

    DATA_DIR: Path = Field(
        default=Path(".data"),
        description="folder of the embedded stores and Gold DB.",
        json_schema_extra={"default_text": "`.data` (`/tmp/eco2mix` in Azure)"},
    )

    # Gold SQL. Default: embedded SQLite file under DATA_DIR. With GOLD_ODBC_CONNECTION_STRING: pyodbc
    # (SQLite ODBC driver in tests, Azure SQL with user/password). With GOLD_SQL_SERVER: Azure SQL
    # through pyodbc and a managed-identity token.
    GOLD_SQLITE_PATH: Path | None = Field(
        default=None,
        description="embedded Gold SQLite file.",
        json_schema_extra={
            "local": "embedded Gold DB (SQLite file); Azure reads Azure SQL through GOLD_SQL_SERVER",
            "default_text": "`$DATA_DIR/gold.sqlite`",
        },
    )
    GOLD_ODBC_CONNECTION_STRING: str | None = Field(
        default=None,
        description="full ODBC connection string for Gold (SQLite ODBC driver in tests, or SQL logins).",
        json_schema_extra={"local": "tests (SQLite ODBC driver) or SQL logins; Azure uses the managed identity"},
    )
    GOLD_SQL_SERVER: str | None = Field(
        default=None,
        description="Azure SQL server (FQDN) of Gold, reached with pyodbc and a managed-identity token.",
    )
    GOLD_SQL_DATABASE: str | None = Field(default=None, description="Azure SQL database of Gold.")
    GOLD_ODBC_DRIVER: str = Field(
        default="ODBC Driver 18 for SQL Server", description="ODBC driver name used with `GOLD_SQL_SERVER`."
    )
    GOLD_QUERY_TIMEOUT_SECONDS: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="longest a Gold query may run or wait on a lock (pyodbc statement timeout; sqlite3 busy "
        "timeout + progress-handler deadline; `Timeout` added to a SQLite ODBC string), 1 to 3600; the activity "
        "is retried.",
    )

    # Documents. Default: embedded SQLite store. With COSMOS_ENDPOINT: Cosmos DB (key when given,
    # managed identity otherwise).
    COSMOS_ENDPOINT: str | None = Field(
        default=None,
        description="Cosmos DB account endpoint; when set, documents go to Cosmos DB (managed identity unless "
        "`COSMOS_KEY`).",
        json_schema_extra={"default_text": "unset (embedded SQLite store)"},
    )
    COSMOS_KEY: str | None = Field(
        default=None,
        description="account key, for the emulator only; Azure has local auth disabled.",
        json_schema_extra={"local": "emulator key; the Cosmos DB account has local (key) auth disabled"},
    )
    COSMOS_DATABASE: str = Field(default="eco2mix", description="Cosmos DB database.")
    COSMOS_CONTAINER: str = Field(
        default="aggregates", description="Cosmos DB container (partition key `/region_code`)."
    )
    COSMOS_VERIFY_TLS: bool = Field(
        default=True,
        description="verify the Cosmos DB certificate; `false` only for the emulator's self-signed one.",
        json_schema_extra={
            "local": "false only for the emulator's self-signed certificate; the default (true) is right"
        },
    )
    EMBEDDED_DOCUMENTS_MMAP_MIB: int = Field(
        default=256,
        ge=0,
        le=65536,
        description="how much of the embedded document store's file the API's reads map into memory, in MiB, "
        "0 to 65536; 0 reads by `pread`. Mapped pages stay in the OS page cache and count in the process's RSS "
        "(256 MiB holds a year's store, ~165 MB), and an I/O error on one ends the process (SIGBUS) instead of "
        "a 503.",
        json_schema_extra={"local": "embedded document store (devhost); Azure reads Cosmos DB"},
    )

    # Files. Default: a folder under DATA_DIR with HMAC-signed links served by devhost. With
    # BLOB_CONNECTION_STRING (Azurite, account key) or BLOB_ACCOUNT_URL (managed identity): Blob Storage.
    BLOB_CONNECTION_STRING: str | None = Field(
        default=None,
        description="Blob Storage connection string with an account key, for Azurite.",
        json_schema_extra={"local": "Azurite account key; the storage account has shared keys disabled"},
    )
    BLOB_ACCOUNT_URL: str | None = Field(
        default=None,
        description="Blob Storage endpoint reached with the managed identity (user-delegation SAS links).",
        json_schema_extra={"default_text": "unset (embedded folder)"},
    )
    BLOB_CONTAINER: str = Field(default="exports", description="container of the CSV exports.")
    FILES_SIGNING_KEY: str | None = Field(
        default=None,
        description="HMAC key of the embedded download links.",
        json_schema_extra={
            "local": "embedded file store (HMAC links served by devhost); Azure uses user-delegation SAS",
            "default_text": "generated under `DATA_DIR`",
        },
    )
    PUBLIC_BASE_URL: str = Field(
        default="http://127.0.0.1:7071",
        description="where devhost serves embedded downloads.",
        json_schema_extra={"local": "base URL of devhost's embedded download links"},
    )
    DOWNLOAD_TTL_SECONDS: int = Field(default=600, ge=30, le=900, description="lifetime of download links, 30 to 900.")

    # Store calls of the API (reads): few, short attempts, then 503 + Retry-After rather than a hang.
    STORE_READ_TIMEOUT_SECONDS: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="connect and read timeout of one attempt of an API read (Cosmos DB, Blob Storage), over 0 to 60.",
    )
    STORE_READ_ATTEMPTS: int = Field(
        default=2,
        ge=1,
        le=10,
        description="attempts of one API read, the first included, 1 to 10; then the API answers 503 with "
        "`Retry-After`.",
    )
    STORE_READ_THROTTLE_WAIT_SECONDS: int = Field(
        default=1, ge=1, le=30, description="total wait on throttling (429) within one API read, 1 to 30."
    )
    STORE_RETRY_AFTER_SECONDS: int = Field(
        default=5,
        ge=1,
        le=3600,
        description="`Retry-After` of a 503 when the store gave no hint of its own, 1 to 3600.",
    )
    # The API's cache in front of Cosmos DB, per instance (stores/reads_cache.py).
    DOCUMENT_CACHE_MIB: int = Field(
        default=128,
        ge=0,
        le=4096,
        description="the instance cache in front of Cosmos DB (`stores/reads_cache.py`): point reads as answered "
        "(with their gzip form) and range hashes, at most this many MiB per instance, least recently used out "
        "first; `0` turns it off. No effect on the embedded store.",
    )
    DOCUMENT_CACHE_STALE_SECONDS: float = Field(
        default=30.0,
        ge=0,
        le=60,
        description="the bound on a stale answer from that cache: a day that is not final, and a range's hashes, "
        "are answered from it for at most this long after they were read, so every instance sees a "
        "materialization within it; a final day is kept until evicted, and a range read that shows a changed day "
        "drops its kept point read at once. 0 to 60.",
    )
    # Store calls of the materialization: patient (throttling is frequent on serverless during a backfill).
    STORE_BATCH_TIMEOUT_SECONDS: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="connect and read timeout of one attempt of a materialization store call, over 0 to 600.",
    )
    STORE_BATCH_ATTEMPTS: int = Field(
        default=12,
        ge=1,
        le=50,
        description="attempts of one materialization store call, 1 to 50 (the orchestrator retries the activity "
        "on top).",
    )
    STORE_BATCH_THROTTLE_WAIT_SECONDS: int = Field(
        default=60,
        ge=1,
        le=600,
        description="total wait on throttling within one materialization store call, 1 to 600.",
    )

    # HTTP API.
    API_KEYS: str | None = Field(
        default=None,
        description="accepted API keys, comma-separated `role:sha256hex-of-key` (roles `reader`, `operator`).",
        json_schema_extra={"default_text": "unset (devhost generates and prints one key per role)"},
    )
    AUTH_TENANT_ID: str | None = Field(
        default=None,
        description="Entra ID tenant of accepted bearer tokens.",
        json_schema_extra={"default_text": "unset (bearer tokens refused)"},
    )
    AUTH_AUDIENCE: str | None = Field(default=None, description="audience of accepted bearer tokens.")
    AUTH_JWKS_URL: str | None = Field(
        default=None,
        description="signing keys of bearer tokens; tests point it at a local JWKS.",
        json_schema_extra={
            "local": "derived from AUTH_TENANT_ID in Azure; tests point it at a local JWKS",
            "default_text": "the tenant's Entra ID JWKS",
        },
    )
    AUTH_JWKS_CACHE_SECONDS: int = Field(
        default=3600,
        ge=60,
        le=86400,
        description="how long a fetched key set is trusted (a key rotated out verifies at most this long), "
        "60 to 86400.",
    )
    AUTH_JWKS_STALE_GRACE_SECONDS: int = Field(
        default=21600,
        ge=0,
        le=604800,
        description="while the signing keys cannot be fetched, how long past `AUTH_JWKS_CACHE_SECONDS` the last "
        "good key set keeps verifying (an Entra ID outage is not a 503 for every bearer request), 0 (off) to "
        "604800.",
    )
    AUTH_CLOCK_SKEW_SECONDS: int = Field(
        default=60, ge=0, le=300, description="leeway on a token's `exp`/`nbf`/`iat`, 0 to 300."
    )
    CORS_ALLOWED_ORIGINS: str = Field(
        default="",
        description="comma-separated origins allowed by CORS.",
        json_schema_extra={"default_text": "empty (no CORS headers)"},
    )
    API_PUBLIC_URL: str | None = Field(
        default=None,
        description="scheme, host and API path callers use (the API Management gateway's URL when deployed, else "
        "the Function App's), the base of every absolute link in a response (`next`, `href`, `links.self`). "
        "Unset: a link names the request's host only when that host is a loopback address (`127.0.0.1`, "
        "`localhost`, `::1`) and the app is not in Azure (devhost); otherwise links are relative (a path). The "
        "request's `Host` is never echoed otherwise.",
    )
    TRUSTED_PROXY_HOPS: int = Field(
        default=0,
        ge=0,
        le=5,
        description="proxies in front of the Functions host that append the caller's address to "
        "`X-Forwarded-For` (1 behind API Management). The client address of the per-address limits is the entry "
        "that many places left of the last one, which the Functions front end appends itself (devhost appends "
        "its peer's address the same way); entries further left are the caller's own and never trusted. 0 to 5.",
    )
    RATE_LIMIT_REQUESTS: int = Field(
        default=1200,
        ge=0,
        le=1_000_000,
        description="requests a credential (API key id or token subject) may make per window on one instance, as "
        "a token bucket (bursts up to the whole quota); over it: 429 problem+json with `Retry-After`, "
        "`RateLimit-Policy` and `RateLimit`. `0` disables.",
    )
    RATE_LIMIT_WINDOW_SECONDS: int = Field(
        default=60, ge=1, le=86400, description="the window of `RATE_LIMIT_REQUESTS`, 1 to 86400."
    )
    RATE_LIMIT_ANONYMOUS_REQUESTS: int = Field(
        default=300,
        ge=0,
        le=1_000_000,
        description="requests a client address may make per window on one instance to the public routes "
        "(`/v1/health`, the docs, the explorer); a separate bucket of the same size counts requests whose "
        "credential was refused (401), and once it is empty that address gets 429 on the keyed routes before its "
        "credential is even checked. Over it: 429 problem+json with `Retry-After`. `0` disables both.",
    )
    HEALTH_CACHE_SECONDS: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="how long an instance reuses its public `/v1/health` answer, so any number of probes costs one "
        "set of store pings per window; `0` pings on every request. 0 to 300.",
    )
    HEALTH_STALE_AFTER_SECONDS: int = Field(
        default=7200,
        ge=60,
        le=100 * 365 * 86400,
        description="`/v1/health` says `degraded` (`checks.freshness`) when the newest materialized half-hour of "
        "every area started longer ago than this (an upstream outage is visible; the data is still served, with "
        "its age), 60 to 3153600000. The devhost tests on the 2024 sample data set a value of years.",
    )

    # Bulk exports built on request (api/export.py).
    EXPORT_MAX_CONCURRENT_BUILDS: int = Field(
        default=2,
        ge=1,
        le=64,
        description="export files built at once per instance (a year of every region is seconds of CPU and "
        "~100 MiB); one more build waits for none and is refused with 503 + `Retry-After`. Identical requests "
        "share one build. 1 to 64.",
    )
    EXPORT_BUILD_WAIT_SECONDS: float = Field(
        default=60.0,
        ge=0,
        le=600,
        description="how long a request waits for the build of its file (its own or another request's) before a "
        "503 + `Retry-After`, 0 to 600.",
    )
    EXPORT_RETRY_AFTER_SECONDS: int = Field(
        default=10, ge=1, le=3600, description="`Retry-After` of those 503s, 1 to 3600."
    )
    EXPORT_BUILD_RATE_COST: int = Field(
        default=60,
        ge=1,
        le=1_000_000,
        description="tokens of the caller's rate limit a build takes (a redirect to a built file takes one), "
        "1 to 1000000.",
    )

    # Materialization.
    MATERIALIZE_SCHEDULE: str = Field(
        default="0 */15 * * * *",
        description="NCRONTAB (six fields) of the materialization timer (`%MATERIALIZE_SCHEDULE%`).",
    )
    MATERIALIZE_BATCH_SIZE: int = Field(
        default=24, ge=1, le=500, description="region × month activities per orchestration wave, 1 to 500."
    )
    MATERIALIZE_WATERMARK_OVERLAP_SECONDS: int = Field(
        default=3600,
        ge=0,
        le=7 * 86400,
        description="the incremental run reads Gold rows with `loaded_at` > watermark minus this window, so a row "
        "stamped before the watermark that commits later is still read (unchanged days are skipped by content "
        "hash); the Gold loader's contract is in `infra/sql/README.md`. 0 to 604800.",
    )
    MATERIALIZE_RETRY_BASE_SECONDS: int = Field(
        default=900,
        ge=1,
        le=86400,
        description="back-off of a set-aside (quarantined) region-month: its n-th failing run in a row waits "
        "base × 2^(n−1) before the next retry, capped by `MATERIALIZE_RETRY_MAX_SECONDS` (a Gold change for it "
        "retries at once).",
    )
    MATERIALIZE_RETRY_MAX_SECONDS: int = Field(
        default=86400, ge=1, le=30 * 86400, description="the longest of those waits."
    )
    MATERIALIZE_SET_ASIDE_AFTER_FAILURES: int = Field(
        default=3,
        ge=1,
        le=100,
        description="failing runs in a row after which a region-month is set aside; before, every run retries it.",
    )

    # Webhooks (api/webhooks.py, orchestrations/webhooks.py).
    WEBHOOKS_ALLOW_LOOPBACK: bool = Field(
        default=False,
        description="lets a webhook target a loopback address (127.0.0.1, ::1, `localhost`) over plain `http`, for "
        "local development and the e2e tests.",
        json_schema_extra={"local": "local development: webhooks to a receiver on 127.0.0.1; never allowed in Azure"},
    )
    WEBHOOKS_BATCH_SIZE: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="changes-feed entries read per webhook delivery (the matching ones are sent in one POST), 1 to "
        "1000.",
    )
    WEBHOOKS_RETRY_BASE_SECONDS: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="first wait (a durable timer) after a failed delivery; each next wait doubles, 1 to 3600.",
    )
    WEBHOOKS_RETRY_MAX_SECONDS: int = Field(
        default=3600, ge=1, le=86400, description="longest wait between two attempts of one delivery, 1 to 86400."
    )
    WEBHOOKS_RETRY_WINDOW_SECONDS: int = Field(
        default=86400,
        ge=1,
        le=7 * 86400,
        description="how long one delivery is retried; then the subscription is disabled and shows the last error, "
        "1 to 604800.",
    )
    WEBHOOKS_CONNECT_TIMEOUT_SECONDS: float = Field(
        default=5.0, gt=0, le=60, description="connect timeout of one delivery attempt, over 0 to 60."
    )
    WEBHOOKS_READ_TIMEOUT_SECONDS: float = Field(
        default=10.0, gt=0, le=120, description="read timeout (per socket read) of one delivery attempt, over 0 to 120."
    )
    WEBHOOKS_MAX_RESPONSE_BYTES: int = Field(
        default=65536, ge=0, le=1 << 20, description="at most this much of a receiver's answer is read, 0 to 1048576."
    )

    APPLICATIONINSIGHTS_CONNECTION_STRING: str | None = Field(
        default=None,
        description="when set, logs and traces are exported with azure-monitor-opentelemetry.",
    )
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: str | None = Field(
        default=None,
        description="`ClientId=<client id>;Authorization=AAD` to ingest with that managed identity (local auth "
        "disabled).",
    )

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
