"""The in-memory fakes the unit tests use behave as the real adapters: the same contract cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from stores.ports import DocumentStore
from tests.support.fakes import MemoryDocuments
from tests.support.store_contracts import DOCUMENT_STORE_CASES


@pytest.mark.parametrize("case", DOCUMENT_STORE_CASES, ids=lambda c: c.__name__)
def test_memory_documents_keep_the_document_store_contract(case: Callable[[DocumentStore, str], None]) -> None:
    case(MemoryDocuments(), f"r-{uuid.uuid4().hex[:12]}")
