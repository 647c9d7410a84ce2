"""The changes feed and revision history over a real DocumentStore, as cases run against each adapter.

Each case receives an empty store of its own (the feed has one partition per store).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from domain import change_feed as feed
from domain import materialization as mat
from domain.naming import day_doc_id
from domain.revisions import history, revisions_doc_id
from stores.ports import DocumentStore
from tests.support.fakes import MemoryFiles, MemoryGold, gold_day_rows

OLD, NEW = "2025-01-15T00:00:00.000000Z", "2025-02-01T00:00:00.000000Z"
DAYS = ("2024-04-01", "2024-04-02", "2024-04-03", "2024-05-01")


def entries(tag: str, n: int) -> list[dict[str, Any]]:
    return [{"region": "11", "kind": "day", "key": f"{tag}-{i}", "content_hash": f"h{tag}{i}"} for i in range(n)]


def follow(store: DocumentStore, since: feed.Position, limit: int) -> tuple[list[dict[str, Any]], feed.Position]:
    """Every entry from `since`, page after page of `limit`, as a client following `next` does."""
    got: list[dict[str, Any]] = []
    while True:
        read = feed.read_changes(store, since, limit)
        got += read.entries
        assert len(read.entries) <= limit
        since = read.next
        if not read.more:
            assert feed.read_changes(store, since, limit).entries == []  # caught up
            return got, since


def pages_are_read_in_commit_order_whatever_the_limit(store: DocumentStore) -> None:
    sizes = {"a": 5, "b": 1, "c": 7, "d": 3}
    for tag, n in sizes.items():
        feed.append_changes(store, entries(tag, n), "2025-01-01T00:00:00+00:00")
    expected = [e["key"] for tag, n in sizes.items() for e in entries(tag, n)]
    for limit in (1, 2, 3, 5, 7, 16, 100):
        got, end = follow(store, feed.START, limit)
        assert [e["key"] for e in got] == expected, limit
        assert end == feed.Position(5, 0)
    # A cursor from the middle of a page resumes right after what it delivered.
    first = feed.read_changes(store, feed.START, 7)
    assert first.more and first.next == feed.Position(3, 1)
    assert [e["key"] for e in follow(store, first.next, 4)[0]] == expected[7:]


def a_reader_that_caught_up_gets_what_is_appended_later(store: DocumentStore) -> None:
    feed.append_changes(store, entries("a", 2), "t1")
    got, position = follow(store, feed.START, 10)
    feed.append_changes(store, entries("b", 3), "t2")
    later, position = follow(store, position, 2)
    assert [e["key"] for e in got + later] == [e["key"] for e in entries("a", 2) + entries("b", 3)]
    assert [e["page"] for e in later] == [2, 2, 2]


def concurrent_appends_leave_no_hole_and_lose_nothing(store: DocumentStore) -> None:
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for i in range(6):
                feed.append_changes(store, entries(f"{tag}{i}", 2), "t")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "wxyz"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    got, end = follow(store, feed.START, 5)
    assert sorted(e["key"] for e in got) == sorted(
        e["key"] for t in "wxyz" for i in range(6) for e in entries(f"{t}{i}", 2)
    )
    assert end == feed.Position(25, 0)  # pages 1..24, dense


def a_lagging_head_hint_costs_attempts_never_a_hole(store: DocumentStore) -> None:
    for tag in "abc":
        feed.append_changes(store, entries(tag, 1), "t")
    head, version = store.get_versioned(feed.CHANGES_PARTITION, feed.HEAD_DOC_ID)
    assert head is not None and head["value"] == 3
    assert store.replace_if({**head, "value": 1}, version)  # as if two writers crashed before the hint moved
    assert feed.append_changes(store, entries("d", 1), "t") == 4
    got, _ = follow(store, feed.START, 10)
    assert [e["key"] for e in got] == ["a-0", "b-0", "c-0", "d-0"]


def gold_at(edition: str) -> MemoryGold:
    """The old edition, or the new one where 11's 2024-04-02 has more wind and 24's 2024-05-01 less."""
    rows: dict[str, list[Any]] = {}
    for region in ("11", "24"):
        revised = (region == "11" and "2024-04-02") or "2024-05-01"
        rows[region] = [
            r
            for day in DAYS
            for r in gold_day_rows(
                day,
                {
                    "eolien": (150.0 if region == "11" else 50.0) if edition == NEW and day == revised else 100.0,
                    "consommation": 300.0,
                },
                loaded_at=NEW if edition == NEW and day == revised else OLD,
                nature="Données consolidées" if edition == NEW and day == revised else "Données temps réel",
            )
        ]
    return MemoryGold(rows)


def run(gold: MemoryGold, store: DocumentStore, request: dict[str, Any]) -> None:
    plan = mat.plan(gold, store, request, parallelism=4)
    results = [mat.materialize_batch(gold, store, MemoryFiles(), b) for b in plan["batches"]]
    mat.commit(store, plan, results, now="t", instance_id=request["mode"])


def server_documents(store: DocumentStore) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for region in ("11", "24"):
        for doc_type, first, last in (("day", "2024-01-01", "2024-12-31"), ("month", "2024-01", "2024-12")):
            docs |= {d["id"]: d for d in store.query_range(region, doc_type, first, last)}
    return docs


def mirror(store: DocumentStore, into: dict[str, dict[str, Any]], since: feed.Position) -> feed.Position:
    """A client: follows the feed and fetches each announced document (the current one, by its id)."""
    got, position = follow(store, since, 3)
    for entry in got:
        doc_id = f"{entry['region']}:{entry['key']}"
        doc = store.get(entry["region"], doc_id)
        assert doc is not None and entry["content_hash"] and entry["materialized_at"]
        into[doc_id] = doc
    return position


def a_mirror_ends_equal_after_interleaved_runs(store: DocumentStore) -> None:
    copy: dict[str, dict[str, Any]] = {}
    run(gold_at(OLD), store, {"mode": "incremental"})
    position = mirror(store, copy, feed.START)
    assert copy == server_documents(store) and len(copy) == 2 * (4 + 2)
    run(gold_at(NEW), store, {"mode": "incremental"})
    run(gold_at(NEW), store, {"mode": "backfill", "start_date": DAYS[0], "end_date": DAYS[-1]})  # changes nothing
    news, position = follow(store, position, 10)
    # Only the revised days and their months were announced, once each.
    assert sorted(f"{e['region']}:{e['key']}" for e in news) == [
        "11:2024-04",
        "11:2024-04-02",
        "24:2024-05",
        "24:2024-05-01",
    ]
    day = next(e for e in news if e["key"] == "2024-04-02")
    assert day["nature"] == "Données consolidées" and day["loaded_at"] == NEW and day["kind"] == "day"
    mirror(store, copy, feed.START)  # replaying from the start converges too (idempotent)
    assert copy == server_documents(store)


def revisions_list_every_version_with_its_changes(store: DocumentStore) -> None:
    run(gold_at(OLD), store, {"mode": "incremental"})
    run(gold_at(NEW), store, {"mode": "incremental"})
    versions = history(store.get("11", revisions_doc_id("11", "2024-04-02")))
    current = store.get("11", day_doc_id("11", "2024-04-02"))
    assert current is not None and [v["content_hash"] for v in versions][-1] == current["content_hash"]
    assert len(versions) == 2 and versions[0]["changes"] is None
    assert [v["nature"] for v in versions] == ["Données temps réel", "Données consolidées"]
    # 50 MW more wind for 24 hours, consumption unchanged.
    assert versions[1]["changes"]["energy_mwh"]["eolien"] == 50.0 * 24
    assert versions[1]["changes"]["production_mwh"] == 50.0 * 24
    assert versions[1]["changes"]["consumption_mwh"] == 0.0
    assert len(history(store.get("11", revisions_doc_id("11", "2024-04-01")))) == 1  # an unchanged day: one version
    month = history(store.get("11", revisions_doc_id("11", "2024-04")))  # the month's totals, in their own record
    assert len(month) == 2 and month[1]["changes"]["production_mwh"] == 50.0 * 24


CHANGE_FEED_CASES: list[Callable[[DocumentStore], None]] = [
    pages_are_read_in_commit_order_whatever_the_limit,
    a_reader_that_caught_up_gets_what_is_appended_later,
    concurrent_appends_leave_no_hole_and_lose_nothing,
    a_lagging_head_hint_costs_attempts_never_a_hole,
    a_mirror_ends_equal_after_interleaved_runs,
    revisions_list_every_version_with_its_changes,
]
