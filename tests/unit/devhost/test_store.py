"""The SQLite store: instances round-trip, the query filters build their SQL safely."""

from __future__ import annotations

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
