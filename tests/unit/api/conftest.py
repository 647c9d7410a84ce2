"""Fixtures of the API unit tests; their factories are in tests/support/api_documents.py."""

from __future__ import annotations

import azure.functions as func
import pytest

from core.settings import Settings
from devhost.testing import ApiKeys
from tests.support.api_documents import OPERATOR_KEY, READER_KEY, FakeStores, MakeRequest
from tests.support.fakes import MemoryDocuments, MemoryFiles


@pytest.fixture
def settings() -> Settings:
    keys = ApiKeys(reader=READER_KEY, operator=OPERATOR_KEY).env_value
    return Settings(API_KEYS=keys, CORS_ALLOWED_ORIGINS="https://app.example")


@pytest.fixture
def documents() -> MemoryDocuments:
    return MemoryDocuments()


@pytest.fixture
def files() -> MemoryFiles:
    return MemoryFiles()


@pytest.fixture
def fake_stores(monkeypatch: pytest.MonkeyPatch, documents: MemoryDocuments, files: MemoryFiles) -> FakeStores:
    """Route handlers get these as `ctx.stores` instead of stores.factory.get_read_stores()'s."""
    stores = FakeStores(documents, files)
    monkeypatch.setattr("stores.factory.get_read_stores", lambda: stores)
    return stores


@pytest.fixture
def make_request() -> MakeRequest:
    def build(
        method: str = "GET",
        path: str = "/v1/health",
        *,
        params: dict[str, str] | None = None,
        route_params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        key: str | None = READER_KEY,
    ) -> func.HttpRequest:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers.setdefault("X-API-Key", key)
        return func.HttpRequest(
            method,
            f"http://127.0.0.1:7071{path}",
            headers=all_headers,
            params=params or {},
            route_params=route_params or {},
            body=body,
        )

    return build
