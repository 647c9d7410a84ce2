"""The SQLite store: instances round-trip, the query filters build their SQL safely."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.instance import Instance
from devhost.store import Store


def instance(instance_id: str, status: str, created: str) -> Instance:
    return Instance(
        instance_id=instance_id,
        name="sequence",
        execution_id="e1",
        status=status,
        input='{"a": 1}',
        created=created,
        updated=created,
        parent={"instance_id": "p", "execution_id": "pe", "task_id": 3, "name": "parent"},
        history=[{"EventType": 0}],
        actions=[{"actionType": 0}],
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "devhost.sqlite")
    with db.transaction() as conn:
        db.put(conn, instance("q-1", "Completed", "2024-05-01T12:00:00Z"))
        db.put(conn, instance("q-2", "Failed", "2024-05-02T12:00:00Z"))
        db.put(conn, instance("q_3", "Running", "2024-05-03T12:00:00Z"))
    yield db
    db.close()


def test_an_instance_round_trips_and_each_write_bumps_its_version(store: Store) -> None:
    stored = store.get("q-1")
    expected = instance("q-1", "Completed", "2024-05-01T12:00:00Z")
    expected.version = 1
    assert stored == expected
    assert stored is not None
    with store.transaction() as conn:
        store.put(conn, stored)
    assert store.version("q-1") == 2 and store.get("absent") is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["q-1", "q-2", "q_3"]),
        ({"statuses": ["Failed"]}, ["q-2"]),
        ({"statuses": ["Failed", "Running"]}, ["q-2", "q_3"]),
        ({"prefix": "q-"}, ["q-1", "q-2"]),
        ({"prefix": "q_"}, ["q_3"]),  # LIKE wildcards in the prefix are literal
        ({"prefix": "q%"}, []),
        ({"created_from": "2024-05-02T00:00:00Z"}, ["q-2", "q_3"]),
        ({"created_to": "2024-05-02T12:00:00"}, ["q-1", "q-2"]),  # no zone: UTC
        ({"top": 1}, ["q-1"]),
    ],
)
def test_query_filters(store: Store, filters: dict[str, object], expected: list[str]) -> None:
    assert [i.instance_id for i in store.query(**filters)] == expected  # type: ignore[arg-type]


def test_a_bad_time_filter_is_a_value_error(store: Store) -> None:
    with pytest.raises(ValueError):
        store.query(created_from="yesterday")


def _stored_text(db: Store, instance_id: str) -> tuple[str, str]:
    row = db.conn.execute("SELECT history, actions FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
    return row[0], row[1]


def test_appended_events_are_stored_as_a_whole_serialization_would_store_them(store: Store) -> None:
    for step in range(3):  # each episode: read, append, write (only the tail is serialized)
        inst = store.get("q_3")
        assert inst is not None
        inst.history = [*inst.history, {"EventType": 4, "EventId": step, "Input": {"days": ["2024-01-01"]}}]
        if step != 1:  # the middle episode keeps the actions (a skipped replay)
            inst.actions = [*inst.actions, {"actionType": 1, "input": "é"}]
        with store.transaction() as conn:
            store.put(conn, inst)
    assert inst is not None  # the loop ran: mypy cannot tell
    history, actions = _stored_text(store, "q_3")
    assert history == json.dumps(inst.history) and actions == json.dumps(inst.actions)
    reread = store.get("q_3")
    assert reread is not None and reread.history == inst.history and len(reread.history) == 4


def test_a_rolled_back_write_or_another_connection_s_write_is_read_from_the_database(
    store: Store, tmp_path: Path
) -> None:
    inst = store.get("q_3")
    assert inst is not None
    inst.history = [*inst.history, {"EventType": 4}]
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.put(conn, inst)
        raise RuntimeError("rolled back")
    after_rollback = store.get("q_3")
    assert after_rollback is not None and after_rollback.history == [{"EventType": 0}]
    other = Store(tmp_path / "devhost.sqlite")
    try:
        with other.transaction() as conn:
            other.put(
                conn,
                dataclasses.replace(instance("q_3", "Running", "2024-05-03T12:00:00Z"), history=[{"EventType": 9}]),
            )
    finally:
        other.close()
    after_other = store.get("q_3")
    assert after_other is not None and after_other.history == [{"EventType": 9}]


def test_a_read_instance_can_be_appended_to_without_changing_the_next_read(store: Store) -> None:
    first = store.get("q-1")
    assert first is not None
    first.history.append({"EventType": 5})  # as terminate does before its put
    second = store.get("q-1")
    assert second is not None and second.history == [{"EventType": 0}]
