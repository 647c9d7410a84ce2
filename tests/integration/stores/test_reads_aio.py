"""The async read clients (azure.cosmos.aio, azure.storage.blob.aio) answer as the sync ones, on real emulators.

Each read is made twice through one store object: from plain code (the sync client) and inside `run_awaiting`
(the aio client on the loop). Where the aio path alone can answer, the sync client points at a dead port.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobServiceClient
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

from core.settings import Settings
from stores.bridge_aio import run_awaiting
from stores.call_policy import Caller, call_policy
from stores.documents_cosmos import CosmosDocumentStore, cosmos_container
from stores.documents_cosmos_aio import AsyncCosmosReads, AwaitingCosmosStore, awaiting_cosmos_store
from stores.errors import StoreUnavailable
from stores.files_blob import account_key_of, blob_client_options, ensure_container
from stores.files_blob_aio import AsyncBlobReads, AwaitingBlobStore, async_blob_client_options, awaiting_blob_store
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


def on_loop(store: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` run by run_awaiting on a new loop, the store's aio client closed after it."""

    async def awaited() -> Any:
        try:
            return await run_awaiting(fn, *args)
        finally:
            await store.aclose()

    return asyncio.run(awaited())


def both_ways(store: Any, method: str, *args: Any) -> tuple[Any, Any]:
    """(sync answer, awaited answer) of one read through the same store object."""
    return getattr(store, method)(*args), on_loop(store, getattr(store, method), *args)


@pytest.fixture(scope="module")
def cosmos_store(cosmos_server: CosmosServer) -> AwaitingCosmosStore:
    settings = cosmos_settings(cosmos_server.endpoint, cosmos_server.key)
    return awaiting_cosmos_store(settings, cosmos_container(settings, caller=Caller.reads))


@pytest.fixture
def region(cosmos_store: AwaitingCosmosStore) -> str:
    """A fresh partition holding a week of day documents and their month document."""
    code = f"r-{uuid.uuid4().hex[:10]}"
    for day in DAYS:
        cosmos_store.upsert(make_doc(code, day, interval_count=46 if day == "2024-03-31" else 48, final=True))
    cosmos_store.upsert(make_doc(code, "2024-03", "month", days=[{"date": d} for d in DAYS]))
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
    ("content_hashes", lambda r: (r, [f"{r}:2024-03-26", f"{r}:2024-03-26", f"{r}:2099-01-01", f"{r}:2024-03"])),
    ("ping", lambda r: ()),
]


@pytest.mark.parametrize(("method", "args"), READS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(READS)])
def test_cosmos_awaited_reads_equal_the_sync_ones(
    cosmos_store: AwaitingCosmosStore, region: str, method: str, args: Callable[[str], tuple[Any, ...]]
) -> None:
    sync, awaited = both_ways(cosmos_store, method, *args(region))
    assert awaited == sync
    if method == "get_rendered" and sync is not None:  # the bytes a client gets, not only an equal document
        assert awaited.body == sync.body and b"_rid" not in awaited.body
    if method in ("query_range", "range_hashes") and args(region)[1] == "day" and "2024" in args(region)[2]:
        assert sync, "an empty range would prove nothing"


def test_cosmos_awaited_reads_use_the_aio_client_alone(
    cosmos_server: CosmosServer, cosmos_proxy: FaultProxy, region: str
) -> None:
    # The sync client of this store goes through a proxy that resets every connection: only the aio client,
    # connected to the emulator itself, can answer.
    via_proxy = cosmos_settings(cosmos_proxy.url + "/", cosmos_server.key, **FAST)
    direct = cosmos_settings(cosmos_server.endpoint, cosmos_server.key)
    store = AwaitingCosmosStore(
        cosmos_container(via_proxy, caller=Caller.reads), lambda: AsyncCosmosReads.from_settings(direct, Caller.reads)
    )
    expected = CosmosDocumentStore(cosmos_container(direct)).get(region, f"{region}:2024-03-29")
    cosmos_proxy.arm_until_cleared("reset")

    async def read() -> Any:
        try:
            return await run_awaiting(store.get, region, f"{region}:2024-03-29")
        finally:
            await store.aclose()

    assert asyncio.run(read()) == expected is not None
    with pytest.raises(StoreUnavailable):  # and the sync client really is cut off
        store.get(region, f"{region}:2024-03-29")


def test_one_aio_client_per_loop(cosmos_store: AwaitingCosmosStore, region: str) -> None:
    def read_then_client() -> AsyncCosmosReads:
        cosmos_store.get(region, f"{region}:2024-03-25")
        return cosmos_store.async_reads()

    async def two_reads() -> tuple[AsyncCosmosReads, AsyncCosmosReads]:
        try:
            return await run_awaiting(read_then_client), await run_awaiting(read_then_client)
        finally:
            await cosmos_store.aclose()

    first, second = asyncio.run(two_reads())
    assert first is second
    third, _ = asyncio.run(two_reads())
    assert third is not first  # a new loop, a new client


@pytest.mark.parametrize("fault", ["429", "503", "timeout", "reset", "slow"])
def test_cosmos_faults_map_alike_on_both_paths(
    cosmos_server: CosmosServer, cosmos_proxy: FaultProxy, region: str, fault: FaultKind
) -> None:
    """Throttled, unavailable, hung, reset or slow: StoreUnavailable within the read policy on either path,
    with the same Retry-After hint; then both read again once the fault is gone."""
    settings = cosmos_settings(cosmos_proxy.url + "/", cosmos_server.key, **FAST)
    store = awaiting_cosmos_store(settings, cosmos_container(settings, caller=Caller.reads))
    deadline = call_policy(settings, Caller.reads).deadline_seconds + 1.5
    doc_id = f"{region}:2024-03-30"
    outcomes = []
    for path in ("sync", "awaited"):
        cosmos_proxy.arm_until_cleared(fault)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            if path == "sync":
                store.get(region, doc_id)
            else:
                on_loop(store, store.get, region, doc_id)
        elapsed = time.monotonic() - started
        hits = cosmos_proxy.faulted
        cosmos_proxy.clear()
        assert elapsed < deadline, f"{path}: {elapsed:.2f} s"
        assert hits >= 1
        outcomes.append((caught.value.store, caught.value.retry_after_seconds))
    assert outcomes[0] == outcomes[1]
    assert both_ways(store, "get", region, doc_id)[1] == store.get(region, doc_id) is not None


# -- Blob --------------------------------------------------------------------------------------------------


@pytest.fixture
def blob_store(azurite: Azurite) -> AwaitingBlobStore:
    return awaiting_blob_store(
        Settings(BLOB_CONNECTION_STRING=azurite.connection_string, BLOB_CONTAINER=f"aio-{uuid.uuid4().hex[:10]}")
    )


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("exists", ("11/day/2024-03-31.csv",)),
        ("exists", ("11/day/2099-01-01.csv",)),
        ("read", ("11/day/2024-03-31.csv",)),
        ("read", ("11/day/2099-01-01.csv",)),
        ("read_head", ("11/day/2024-03-31.csv", 8)),
        ("read_head", ("11/day/2099-01-01.csv", 8)),
        ("ping", ()),
    ],
)
def test_blob_awaited_reads_equal_the_sync_ones(blob_store: AwaitingBlobStore, method: str, args: tuple[str]) -> None:
    blob_store.put("11/day/2024-03-31.csv", CSV, CSV_TYPE)
    sync, awaited = both_ways(blob_store, method, *args)
    assert awaited == sync
    if args and "2024" in args[0]:
        assert sync  # the blob is there: equal and non-empty


def test_blob_awaited_head_of_an_empty_blob_is_empty(blob_store: AwaitingBlobStore) -> None:
    blob_store.put("11/day/empty.csv", b"", CSV_TYPE)  # a ranged GET of it is refused (416): empty, not an error
    assert both_ways(blob_store, "read_head", "11/day/empty.csv", 8) == (b"", b"")


def test_blob_awaited_put_skips_identical_bytes_and_link_downloads(blob_store: AwaitingBlobStore) -> None:
    name = "11/month/2024-03.csv"

    async def put_twice_and_sign() -> tuple[bool, bool, str]:
        try:
            return await run_awaiting(
                lambda: (
                    blob_store.put(name, CSV, CSV_TYPE),
                    blob_store.put(name, CSV, CSV_TYPE),
                    blob_store.signed_url(name, 600, "eco2mix_11_2024-03.csv"),
                )
            )
        finally:
            await blob_store.aclose()

    first, second, url = asyncio.run(put_twice_and_sign())
    assert (first, second) == (True, False)
    assert fetch_over_http(url) == (CSV, 'attachment; filename="eco2mix_11_2024-03.csv"')
    assert blob_store.read(name) == CSV  # the sync client sees what the aio one wrote


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


def delegated_store(endpoint: str, **settings: Any) -> AwaitingBlobStore:
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

    return AwaitingBlobStore(service, container, account_key=None, open_reads=open_reads)


def test_blob_awaited_user_delegation_link_downloads(azurite_oauth: Azurite) -> None:
    store = delegated_store(azurite_oauth.blob_endpoint)
    store.put("11/day/2024-03-31.csv", CSV, CSV_TYPE)

    async def sign() -> str:
        try:
            return await run_awaiting(store.signed_url, "11/day/2024-03-31.csv", 600, "eco2mix_11.csv")
        finally:
            await store.aclose()

    url = asyncio.run(sign())
    assert "skoid=" in url
    assert fetch_over_http(url)[0] == CSV


@pytest.mark.parametrize("fault", ["503", "timeout", "reset"])
def test_blob_awaited_faults_are_store_unavailable_then_recover(azurite_oauth: Azurite, fault: FaultKind) -> None:
    proxy = FaultProxy(
        azurite_oauth.blob_endpoint.rsplit("/", 1)[0], tls=True, cert=SELF_SIGNED_CERT, key=SELF_SIGNED_KEY
    )
    proxy.start()
    try:
        store = delegated_store(f"{proxy.url}/{AZURITE_ACCOUNT}", STORE_READ_TIMEOUT_SECONDS=0.5)
        store.put("11/day/2024-03-31.csv", CSV, CSV_TYPE)

        async def read_and_sign() -> tuple[bytes | None, str]:
            return await run_awaiting(
                lambda: (store.read("11/day/2024-03-31.csv"), store.signed_url("11/day/x.csv", 600, "x.csv"))
            )

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
                await store.aclose()

        failure, (data, url) = asyncio.run(under_fault_then_after())
        assert isinstance(failure, StoreUnavailable) and failure.store == "files"
        assert data == CSV and "skoid=" in url
    finally:
        proxy.stop()


def test_factory_builds_the_awaiting_stores_only_for_async_reads(azurite: Azurite, cosmos_server: CosmosServer) -> None:
    from stores.factory import build_documents, build_files

    base = cosmos_settings(cosmos_server.endpoint, cosmos_server.key).model_dump()
    base["BLOB_CONNECTION_STRING"] = azurite.connection_string
    on, off = Settings(**base), Settings(**{**base, "STORE_READS_ASYNC": False})
    assert isinstance(build_documents(on, Caller.reads), AwaitingCosmosStore)
    assert isinstance(build_files(on, Caller.reads), AwaitingBlobStore)
    for settings, caller in ((off, Caller.reads), (on, Caller.batch)):
        assert not getattr(build_documents(settings, caller), "awaits_on_loop", False)
        assert not getattr(build_files(settings, caller), "awaits_on_loop", False)
