"""The async reads ports (azure.cosmos.aio, azure.storage.blob.aio) answer as the sync stores, on real emulators.

Each read is made twice: through the sync store (the materialization's client) and through the reads port the
async triggers await (the aio client on the loop).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobServiceClient
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

from core.settings import Settings
from stores.call_policy import Caller, call_policy
from stores.documents_cosmos import CosmosDocumentStore, cosmos_container
from stores.documents_cosmos_aio import AsyncCosmosReads, CosmosReads
from stores.errors import StoreUnavailable
from stores.files_blob import BlobFileStore, account_key_of, blob_client_options, blob_file_store, ensure_container
from stores.files_blob_aio import AsyncBlobReads, BlobReads, async_blob_client_options, blob_reads
from stores.reads_cache import CachedDocumentReads
from stores.reads_local import rendered_document
from tests.faults.proxy import FaultKind, FaultProxy
from tests.integration.emulators import AZURITE_ACCOUNT, SELF_SIGNED_CERT, SELF_SIGNED_KEY, Azurite, CosmosServer
from tests.integration.stores.test_files_blob import CSV, CSV_TYPE, UnsignedEntraToken, fetch_over_http
from tests.support.store_contracts import make_doc

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

DAYS = [f"2024-03-{d:02d}" for d in range(25, 32)]


def cosmos_settings(endpoint: str, key: str, *, database: str = "aio", **extra: Any) -> Settings:
    return Settings(
        COSMOS_ENDPOINT=endpoint,
        COSMOS_KEY=key,
        COSMOS_VERIFY_TLS=False,
        COSMOS_DATABASE=database,
        COSMOS_CONTAINER="aggregates",
        **extra,
    )


@dataclass
class Pair:
    """A sync store and the reads port over the same data."""

    store: Any
    reads: Any

    def sync(self, method: str, *args: Any) -> Any:
        if method == "get_rendered":  # the sync store answers the document; a read answers its bytes
            doc = self.store.get(*args)
            return None if doc is None else rendered_document(doc)
        return getattr(self.store, method)(*args)

    def awaited(self, method: str, *args: Any) -> Any:
        """The reads port's answer on a new loop, its aio client closed after it."""

        async def awaited() -> Any:
            try:
                return await getattr(self.reads, method)(*args)
            finally:
                await self.reads.aclose()

        return asyncio.run(awaited())

    def both_ways(self, method: str, *args: Any) -> tuple[Any, Any]:
        return self.sync(method, *args), self.awaited(method, *args)


def cosmos_pair(settings: Settings) -> Pair:
    return Pair(
        CosmosDocumentStore(cosmos_container(settings, caller=Caller.reads)), CosmosReads.from_settings(settings)
    )


@pytest.fixture(scope="module")
def cosmos(cosmos_server: CosmosServer) -> Pair:
    return cosmos_pair(cosmos_settings(cosmos_server.endpoint, cosmos_server.key))


@pytest.fixture
def region(cosmos: Pair) -> str:
    """A fresh partition holding a week of day documents and their month document."""
    code = f"r-{uuid.uuid4().hex[:10]}"
    for day in DAYS:
        cosmos.store.upsert(make_doc(code, day, interval_count=46 if day == "2024-03-31" else 48, final=True))
    cosmos.store.upsert(make_doc(code, "2024-03", "month", days=[{"date": d} for d in DAYS]))
    return code


@pytest.fixture
def cosmos_proxy(cosmos_server: CosmosServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(cosmos_server.endpoint, tls=True, cert=SELF_SIGNED_CERT, key=SELF_SIGNED_KEY)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


FAST: dict[str, Any] = {
    "STORE_READ_TIMEOUT_SECONDS": 0.5,
    "STORE_READ_ATTEMPTS": 2,
    "STORE_READ_THROTTLE_WAIT_SECONDS": 1,
}


READS: list[tuple[str, Callable[[str], tuple[Any, ...]]]] = [
    ("get", lambda r: (r, f"{r}:2024-03-31")),
    ("get", lambda r: (r, f"{r}:2099-01-01")),
    ("get_rendered", lambda r: (r, f"{r}:2024-03-31")),
    ("get_rendered", lambda r: (r, f"{r}:2099-01-01")),
    ("query_range", lambda r: (r, "day", "2024-03-27", "2024-03-30")),
    ("query_range", lambda r: (r, "month", "2024-03", "2024-03")),
    ("query_range", lambda r: (r, "day", "2025-01-01", "2025-01-31")),
    ("range_hashes", lambda r: (r, "day", "2024-03-25", "2024-03-31")),
    ("ping", lambda r: ()),
]


@pytest.mark.parametrize(("method", "args"), READS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(READS)])
def test_cosmos_awaited_reads_equal_the_sync_ones(
    cosmos: Pair, region: str, method: str, args: Callable[[str], tuple[Any, ...]]
) -> None:
    sync, awaited = cosmos.both_ways(method, *args(region))
    assert awaited == sync
    if method == "get_rendered" and sync is not None:  # the bytes a client gets, not only an equal document
        assert awaited.body == sync.body and b"_rid" not in awaited.body
    if method in ("query_range", "range_hashes") and args(region)[1] == "day" and "2024" in args(region)[2]:
        assert sync, "an empty range would prove nothing"


def test_one_aio_client_per_loop(cosmos_server: CosmosServer, region: str) -> None:
    settings = cosmos_settings(cosmos_server.endpoint, cosmos_server.key)
    built: list[AsyncCosmosReads] = []

    def build() -> AsyncCosmosReads:
        built.append(AsyncCosmosReads.from_settings(settings))
        return built[-1]

    reads = CosmosReads(build)

    async def two_reads() -> None:
        try:
            for _ in range(2):
                assert await reads.get(region, f"{region}:2024-03-25") is not None
        finally:
            await reads.aclose()

    asyncio.run(two_reads())
    assert len(built) == 1
    asyncio.run(two_reads())
    assert len(built) == 2  # a new loop, a new client


@pytest.mark.parametrize("fault", ["429", "503", "timeout", "reset", "slow"])
def test_cosmos_faults_map_alike_on_both_paths(
    cosmos_server: CosmosServer, cosmos_proxy: FaultProxy, region: str, fault: FaultKind
) -> None:
    """Throttled, unavailable, hung, reset or slow: StoreUnavailable within the read policy on either path,
    with the same Retry-After hint; then both read again once the fault is gone."""
    settings = cosmos_settings(cosmos_proxy.url + "/", cosmos_server.key, **FAST)
    pair = cosmos_pair(settings)
    deadline = call_policy(settings, Caller.reads).deadline_seconds + 1.5
    doc_id = f"{region}:2024-03-30"
    outcomes = []
    for path in ("sync", "awaited"):
        cosmos_proxy.arm_until_cleared(fault)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            getattr(pair, path)("get", region, doc_id)
        elapsed = time.monotonic() - started
        hits = cosmos_proxy.faulted
        cosmos_proxy.clear()
        assert elapsed < deadline, f"{path}: {elapsed:.2f} s"
        assert hits >= 1
        outcomes.append((caught.value.store, caught.value.retry_after_seconds))
    assert outcomes[0] == outcomes[1]
    sync, awaited = pair.both_ways("get", region, doc_id)
    assert awaited == sync is not None


# -- Blob --------------------------------------------------------------------------------------------------


@pytest.fixture
def blob(azurite: Azurite) -> Pair:
    settings = Settings(BLOB_CONNECTION_STRING=azurite.connection_string, BLOB_CONTAINER=f"aio-{uuid.uuid4().hex[:10]}")
    store = blob_file_store(settings, Caller.reads)
    return Pair(store, blob_reads(settings, store))


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("read_head", ("11/day/2024-03-31.csv", 8)),
        ("read_head", ("11/day/2099-01-01.csv", 8)),
        ("ping", ()),
    ],
)
def test_blob_awaited_reads_equal_the_sync_ones(blob: Pair, method: str, args: tuple[str]) -> None:
    blob.store.put("11/day/2024-03-31.csv", CSV, CSV_TYPE)
    sync, awaited = blob.both_ways(method, *args)
    assert awaited == sync
    if args and "2024" in args[0]:
        assert sync  # the blob is there: equal and non-empty


def test_blob_awaited_head_of_an_empty_blob_is_empty(blob: Pair) -> None:
    blob.store.put("11/day/empty.csv", b"", CSV_TYPE)  # a ranged GET of it is refused (416): empty, not an error
    assert blob.both_ways("read_head", "11/day/empty.csv", 8) == (b"", b"")


def test_blob_awaited_link_downloads(blob: Pair) -> None:
    name = "11/month/2024-03.csv"
    blob.store.put(name, CSV, CSV_TYPE)
    url = blob.awaited("signed_url", name, 600, "eco2mix_11_2024-03.csv")
    assert fetch_over_http(url) == (CSV, 'attachment; filename="eco2mix_11_2024-03.csv"')


class AsyncUnsignedEntraToken:
    """The async twin of UnsignedEntraToken (azure.identity.aio's credentials are async too)."""

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return UnsignedEntraToken().get_token(*scopes, **kwargs)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> AsyncUnsignedEntraToken:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def delegated_store(endpoint: str, **settings: Any) -> Pair:
    """A store signing with user-delegation keys (the managed-identity path), sync and aio, via `endpoint`."""
    policy = call_policy(Settings(**settings), Caller.reads)
    service = BlobServiceClient(
        endpoint, credential=UnsignedEntraToken(), connection_verify=False, **blob_client_options(policy)
    )
    container = f"exports-{uuid.uuid4().hex[:12]}"
    ensure_container(service, container)
    assert account_key_of(service) is None

    def open_reads() -> AsyncBlobReads:
        credential = AsyncUnsignedEntraToken()
        aio = AsyncBlobServiceClient(
            endpoint, credential=credential, connection_verify=False, **async_blob_client_options(policy)
        )
        return AsyncBlobReads(aio, container, credential)

    store = BlobFileStore(service, container, account_key=None)
    return Pair(store, BlobReads(store, open_reads))


def test_blob_awaited_user_delegation_link_downloads(azurite_oauth: Azurite) -> None:
    pair = delegated_store(azurite_oauth.blob_endpoint)
    pair.store.put("11/day/2024-03-31.csv", CSV, CSV_TYPE)
    url = pair.awaited("signed_url", "11/day/2024-03-31.csv", 600, "eco2mix_11.csv")
    assert "skoid=" in url
    assert fetch_over_http(url)[0] == CSV


@pytest.mark.parametrize("fault", ["503", "timeout", "reset"])
def test_blob_awaited_faults_are_store_unavailable_then_recover(azurite_oauth: Azurite, fault: FaultKind) -> None:
    proxy = FaultProxy(
        azurite_oauth.blob_endpoint.rsplit("/", 1)[0], tls=True, cert=SELF_SIGNED_CERT, key=SELF_SIGNED_KEY
    )
    proxy.start()
    try:
        pair = delegated_store(f"{proxy.url}/{AZURITE_ACCOUNT}", STORE_READ_TIMEOUT_SECONDS=0.5)
        pair.store.put("11/day/2024-03-31.csv", CSV, CSV_TYPE)
        reads = pair.reads

        async def read_and_sign() -> tuple[bytes | None, str]:
            head = await reads.read_head("11/day/2024-03-31.csv", len(CSV))
            return head, await reads.signed_url("11/day/x.csv", 600, "x.csv")

        async def under_fault_then_after() -> tuple[BaseException | None, tuple[bytes | None, str]]:
            proxy.arm_until_cleared(fault)
            failure: BaseException | None = None
            try:
                await read_and_sign()
            except StoreUnavailable as exc:
                failure = exc
            proxy.clear()
            try:
                return failure, await read_and_sign()
            finally:
                await reads.aclose()

        failure, (data, url) = asyncio.run(under_fault_then_after())
        assert isinstance(failure, StoreUnavailable) and failure.store == "files"
        assert data == CSV and "skoid=" in url
    finally:
        proxy.stop()


def test_factory_builds_the_aio_reads_for_the_azure_backends(azurite: Azurite, cosmos_server: CosmosServer) -> None:
    from stores.factory import build_stores

    settings = cosmos_settings(
        cosmos_server.endpoint, cosmos_server.key, BLOB_CONNECTION_STRING=azurite.connection_string
    )
    for caller in Caller:
        stores = build_stores(settings, caller)
        assert isinstance(stores.document_reads, CachedDocumentReads) and isinstance(stores.file_reads, BlobReads)
        assert isinstance(stores.document_reads.reads, CosmosReads)
    uncached = build_stores(Settings(**{**settings.model_dump(), "DOCUMENT_CACHE_MIB": 0}), Caller.reads)
    assert isinstance(uncached.document_reads, CosmosReads)
