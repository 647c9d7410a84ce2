"""Exports under load (issue 22 item 4): identical requests share one build, builds are capped per instance and
cost more of the caller's rate limit. Over the real embedded file store, through the route's own trigger."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import azure.functions as func
import pytest

import api.export as export_module
import api.ratelimit as ratelimit
from api.export import GATE, ROUTE, _handle
from api.http import PROBLEM_CONTENT_TYPE
from core.settings import Settings
from stores.files_embedded import EmbeddedFileStore
from tests.support.api_documents import FakeStores, MakeRequest, respond_now, seed
from tests.support.fakes import MemoryDocuments

YEAR = {"year": "2024"}  # every region's year: built on request
MONTH = {"month": "2024-02", "format": "parquet"}  # another file built on request


class CountingFiles(EmbeddedFileStore):
    """The embedded store, counting the export files it writes; a write of one may be held until `release`."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, b"k" * 32, "http://127.0.0.1:7071")
        self.bulk_puts: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.delay = 0.0
        self._count = threading.Lock()

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        if name.startswith("bulk/"):
            with self._count:
                self.bulk_puts.append(name)
            time.sleep(self.delay)  # a build long enough for the others to arrive meanwhile
            assert self.release.wait(30)
        return super().put(name, data, content_type)


@pytest.fixture
def files(tmp_path: Path) -> Iterator[CountingFiles]:
    store = CountingFiles(tmp_path / "files")
    yield store
    store.release.set()  # never leave a build thread waiting


@pytest.fixture
def load_stores(monkeypatch: pytest.MonkeyPatch, files: CountingFiles) -> FakeStores:
    documents = MemoryDocuments()
    seed(documents, ["11", "93"], ["2024-01", "2024-02"])
    stores = FakeStores(documents, files)
    monkeypatch.setattr("stores.factory.get_read_stores", lambda: stores)
    return stores


def use(monkeypatch: pytest.MonkeyPatch, settings: Settings, **values: object) -> Settings:
    changed = settings.model_copy(update=values)
    monkeypatch.setattr("api.http.get_settings", lambda: changed)
    monkeypatch.setattr(ratelimit, "_limiters", {})  # a bucket of this test's own
    return changed


def request(make_request: MakeRequest, params: dict[str, str]) -> func.HttpRequest:
    return make_request("GET", ROUTE.path, params=params)


def assert_busy(resp: func.HttpResponse, retry_after: int) -> None:
    assert resp.status_code == 503, resp.get_body()[:300]
    assert resp.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert resp.headers["Retry-After"] == str(retry_after)


@pytest.mark.parametrize("callers", ["event loop", "threads"])
async def test_concurrent_identical_exports_build_once(
    monkeypatch: pytest.MonkeyPatch,
    make_request: MakeRequest,
    settings: Settings,
    load_stores: FakeStores,
    files: CountingFiles,
    callers: str,
) -> None:
    """Six identical requests for a file not built yet: one build, six redirects to it (the async trigger's
    waiters await on the loop; requests on threads, as a sync host would run them, block on the same flight)."""
    settings = use(monkeypatch, settings)
    files.delay = 0.5
    started = GATE.started
    if callers == "event loop":
        answers = await asyncio.gather(*(export_module.export_csv(request(make_request, YEAR)) for _ in range(6)))
    else:
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(lambda _: respond_now(request(make_request, YEAR), ROUTE, _handle, settings), range(6))
            )
    assert [a.status_code for a in answers] == [302] * 6
    assert len({a.headers["Location"].split("?")[0] for a in answers}) == 1
    assert len(files.bulk_puts) == 1 and GATE.started - started == 1
    assert GATE.running == 0


async def test_export_build_cap_answers_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch,
    make_request: MakeRequest,
    settings: Settings,
    load_stores: FakeStores,
    files: CountingFiles,
) -> None:
    settings = use(monkeypatch, settings, EXPORT_MAX_CONCURRENT_BUILDS=1, EXPORT_BUILD_WAIT_SECONDS=0.2)
    files.release.clear()
    first = asyncio.create_task(export_module.export_csv(request(make_request, YEAR)))
    for _ in range(500):  # until the first build holds the only slot
        if GATE.running:
            break
        await asyncio.sleep(0.01)
    assert GATE.running == 1
    # Another file: no slot left.
    assert_busy(await export_module.export_csv(request(make_request, MONTH)), settings.EXPORT_RETRY_AFTER_SECONDS)
    # The same file: waits for the build in flight, then gives up after EXPORT_BUILD_WAIT_SECONDS.
    assert_busy(await export_module.export_csv(request(make_request, YEAR)), settings.EXPORT_RETRY_AFTER_SECONDS)
    files.release.set()
    assert (await first).status_code == 302
    assert (await export_module.export_csv(request(make_request, MONTH))).status_code == 302
    # The refused requests built nothing: one year file, then the month file (after its two region parts).
    assert [n.split("/")[2] for n in files.bulk_puts] == ["2024", "2024-02", "2024-02", "2024-02"]
    assert [n.split("/")[1] for n in files.bulk_puts] == ["all", "11", "93", "all"]


def test_export_build_costs_more_rate_limit(
    monkeypatch: pytest.MonkeyPatch,
    make_request: MakeRequest,
    settings: Settings,
    load_stores: FakeStores,
    files: CountingFiles,
) -> None:
    """100 tokens a day, a build 60: a build, a redirect to it, then no second build (429), yet redirects."""
    settings = use(monkeypatch, settings, RATE_LIMIT_REQUESTS=100, RATE_LIMIT_WINDOW_SECONDS=86400)
    settings = use(monkeypatch, settings, EXPORT_BUILD_RATE_COST=60)

    def get(params: dict[str, str]) -> func.HttpResponse:
        return respond_now(request(make_request, params), ROUTE, _handle, settings)

    assert get(YEAR).status_code == 302  # 1 + 59 tokens
    assert get(YEAR).status_code == 302  # built: 1 token
    refused = get(MONTH)  # 1 token, then 59 more are not there
    assert refused.status_code == 429 and refused.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert int(refused.headers["Retry-After"]) > 3600  # 21 tokens short, at 100 a day
    assert len(files.bulk_puts) == 1  # the refused build was not started
    assert get(YEAR).status_code == 302
