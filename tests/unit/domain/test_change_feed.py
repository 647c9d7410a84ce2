"""The changes feed: cursors, paging, dense page numbers, and announcing what a batch changed (also after a crash)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain import change_feed as feed
from domain import materialization as mat
from domain.revisions import history, revisions_doc_id
from stores.documents_embedded import EmbeddedDocumentStore
from stores.ports import DocumentStore
from tests.support.change_feed_contracts import CHANGE_FEED_CASES, NEW, OLD, follow, gold_at, run, server_documents
from tests.support.fakes import MemoryDocuments, MemoryFiles


@pytest.mark.parametrize("case", CHANGE_FEED_CASES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", ["memory", "embedded"])
def test_change_feed_contract(kind: str, tmp_path: Path, case: Callable[[DocumentStore], None]) -> None:
    store: DocumentStore = MemoryDocuments() if kind == "memory" else EmbeddedDocumentStore(tmp_path / "docs.sqlite")
    case(store)


@pytest.mark.parametrize(
    "position", [feed.START, feed.Position(1, 7), feed.Position(2, 0), feed.Position(2**28, 2**20 - 1)]
)
def test_a_cursor_decodes_to_its_position(position: feed.Position) -> None:
    cursor = feed.encode_cursor(position)
    assert feed.decode_cursor(cursor) == position
    assert re.fullmatch(feed.CURSOR_PATTERN, cursor)


@pytest.mark.parametrize("cursor", ["c0", "c1", "cfffff", "c100000", "cffffffffffff", "c000000000000"])
def test_every_string_of_the_documented_pattern_is_a_position(cursor: str) -> None:
    position = feed.decode_cursor(cursor)
    assert position.page >= 1 and position.entry >= 0
    assert feed.decode_cursor(feed.encode_cursor(position)) == position


@pytest.mark.parametrize(
    "cursor",
    ["", "c", "abc", "C1", "c1g", "c-1", "c1\n", " c1", "c" + "f" * 13, "1", "c1.0"],
    ids=[
        "empty",
        "prefix-only",
        "garbage",
        "upper",
        "not-hex",
        "negative",
        "newline",
        "space",
        "too-long",
        "no-prefix",
        "dotted",
    ],
)
def test_a_cursor_the_feed_did_not_hand_out_is_refused(cursor: str) -> None:
    assert re.fullmatch(feed.CURSOR_PATTERN, cursor) is None
    with pytest.raises(feed.InvalidCursor):
        feed.decode_cursor(cursor)


def test_an_empty_feed_reads_nothing_and_stays_at_its_start() -> None:
    read = feed.read_changes(MemoryDocuments(), feed.START, 10)
    assert read == feed.FeedRead([], feed.START, False)


def test_a_full_page_says_whether_more_is_there() -> None:
    store = MemoryDocuments()
    feed.append_changes(store, [{"key": "a"}, {"key": "b"}], "t")
    assert feed.read_changes(store, feed.START, 2) == feed.FeedRead(
        [{"key": "a", "page": 1}, {"key": "b", "page": 1}], feed.Position(2, 0), False
    )
    feed.append_changes(store, [{"key": "c"}], "t")
    assert feed.read_changes(store, feed.START, 2).more is True


class CrashBeforeAnnouncing(MemoryDocuments):
    """Fails the first feed page write: the batch's documents are written, the page is not."""

    crashed = False

    def replace_if(self, doc: dict[str, Any], version: str | None) -> bool:
        if doc.get("doc_type") == feed.PAGE_DOC_TYPE and not self.crashed:
            self.crashed = True
            raise ConnectionError("worker lost")
        return super().replace_if(doc, version)


def test_documents_written_before_a_crash_are_announced_by_the_retry() -> None:
    store = CrashBeforeAnnouncing()
    gold = gold_at(OLD)
    plan = mat.plan(gold, store, {"mode": "incremental"}, parallelism=4)
    batch = plan["batches"][0]
    with pytest.raises(ConnectionError):
        mat.materialize_batch(gold, store, MemoryFiles(), batch)
    retried = mat.materialize_batch(gold, store, MemoryFiles(), batch)  # the activity's retry
    assert retried["days_written"] == 0  # nothing to write again...
    got, _ = follow(store, feed.START, 50)
    region, month = batch["region_code"], batch["month"]
    announced = {f"{e['region']}:{e['key']}" for e in got}
    assert announced == {i for i in server_documents(store) if i.startswith(f"{region}:{month}")}  # ...all announced


def test_an_unchanged_run_announces_nothing_and_a_change_once() -> None:
    store, gold = MemoryDocuments(), gold_at(OLD)
    run(gold, store, {"mode": "incremental"})
    _, position = follow(store, feed.START, 100)
    run(gold, store, {"mode": "backfill", "start_date": "2024-04-01", "end_date": "2024-05-31"})
    assert follow(store, position, 100)[0] == []
    run(gold_at(NEW), store, {"mode": "incremental"})
    run(gold_at(NEW), store, {"mode": "incremental"})
    assert len(follow(store, position, 100)[0]) == 4  # two days and their two months


def test_revision_changes_leave_missing_values_missing() -> None:
    record = {
        "versions": [
            {
                "content_hash": "a",
                "totals": {
                    "production_mwh": None,
                    "consumption_mwh": 10.0,
                    "emissions_tco2eq": 1.0,
                    "intervals_with_data": 40,
                    "energy_mwh": {"eolien": 5.0},
                },
            },
            {
                "content_hash": "b",
                "totals": {
                    "production_mwh": 7.0,
                    "consumption_mwh": 12.5,
                    "emissions_tco2eq": 1.0,
                    "intervals_with_data": 48,
                    "energy_mwh": {"eolien": 5.5, "solaire": 2.0},
                },
            },
        ]
    }
    second = history(record)[1]["changes"]
    assert second == {
        "production_mwh": None,
        "consumption_mwh": 2.5,
        "emissions_tco2eq": 0.0,
        "intervals_with_data": 8,
        "energy_mwh": {"eolien": 0.5, "solaire": None},
    }
    assert history(None) == []
    assert revisions_doc_id("11", "2024-04-02") == "11:2024-04-02:revisions"
