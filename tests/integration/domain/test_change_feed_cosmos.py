"""The changes feed and revision history on the Cosmos path: cosmosdb-server answers a create of an existing id
with 409, which is what numbers the feed's pages densely; threads append at once through the real SDK."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from stores.documents_cosmos import CosmosDocumentStore, cosmos_container
from stores.ports import DocumentStore
from tests.integration.emulators import CosmosServer
from tests.integration.stores.test_documents_cosmos import emulator_settings
from tests.support.change_feed_contracts import CHANGE_FEED_CASES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]


@pytest.mark.parametrize("case", CHANGE_FEED_CASES, ids=lambda c: c.__name__)
def test_change_feed_contract_on_cosmos(cosmos_server: CosmosServer, case: Callable[[DocumentStore], None]) -> None:
    # A container per case: the feed is one partition of the container.
    case(CosmosDocumentStore(cosmos_container(emulator_settings(cosmos_server, f"feed{uuid.uuid4().hex[:8]}"))))
