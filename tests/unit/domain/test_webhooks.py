"""Webhook batches on a real (embedded) document store: filter, cursor, stable ids, the end of the feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain import change_feed, webhooks
from stores.documents_embedded import EmbeddedDocumentStore


def entry(region: str, kind: str, key: str, final: bool = False) -> dict[str, object]:
    return {"region": region, "kind": kind, "key": key, "content_hash": f"h-{region}-{key}", "final": final}


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedDocumentStore:
    documents = EmbeddedDocumentStore(tmp_path / "docs.sqlite")
    change_feed.append_changes(documents, [entry("11", "day", "2024-03-01"), entry("84", "day", "2024-03-01")], "t1")
    change_feed.append_changes(
        documents, [entry("11", "month", "2024-03"), entry("11", "day", "2024-03-02", True)], "t2"
    )
    return documents


def subscribe(store: EmbeddedDocumentStore, flt: webhooks.ChangeFilter, cursor: str = "c0") -> dict[str, object]:
    doc = webhooks.subscription_document("wh_1", "key:abc", "https://x.example/h", flt, "whsec_x", cursor, "t0")
    assert store.replace_if(doc, None)
    return doc


def test_the_end_of_the_feed_is_after_its_last_entry(store: EmbeddedDocumentStore) -> None:
    assert webhooks.feed_end(store) == change_feed.Position(3, 0)
    for _ in range(20):
        change_feed.append_changes(store, [entry("11", "day", "2024-04-01")], "t3")
    assert webhooks.feed_end(store) == change_feed.Position(23, 0)


def test_a_batch_holds_the_matching_changes_and_the_cursor_moves_only_when_delivered(
    store: EmbeddedDocumentStore,
) -> None:
    subscribe(store, webhooks.ChangeFilter(regions=("11",), kinds=("day",)))
    batch = webhooks.next_batch(store, webhooks.get_subscription(store, "wh_1") or {}, 100, "t9")
    assert batch is not None
    items = json.loads(batch.payload)["data"]["items"]
    assert [(i["region"], i["date"]) for i in items] == [("11", "2024-03-01"), ("11", "2024-03-02")]
    assert items[0]["href"] == "/v1/production/regional/11/2024-03-01"
    again = webhooks.next_batch(store, webhooks.get_subscription(store, "wh_1") or {}, 100, "t9")
    assert again == batch  # not acknowledged: the same batch, the same webhook-id
    assert webhooks.advance_cursor(store, "wh_1", batch.since, batch.cursor, "t10")
    assert not webhooks.advance_cursor(store, "wh_1", batch.since, batch.cursor, "t10")  # only once
    assert webhooks.next_batch(store, webhooks.get_subscription(store, "wh_1") or {}, 100, "t11") is None


def test_entries_the_filter_does_not_want_are_skipped_without_delivery(store: EmbeddedDocumentStore) -> None:
    subscribe(store, webhooks.ChangeFilter(final_only=True))
    batch = webhooks.next_batch(store, webhooks.get_subscription(store, "wh_1") or {}, 2, "t9")
    assert batch is not None and batch.since == change_feed.encode_cursor(change_feed.Position(2, 0))
    assert [i["date"] for i in json.loads(batch.payload)["data"]["items"]] == ["2024-03-02"]


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [webhooks.backoff_seconds(n, 30, 3600) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
