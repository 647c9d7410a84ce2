"""Fixtures shared across the test tree, and how pytest-xdist splits the suite (tests/xdist_groups.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.real_eco2mix import ECO2MIX, REAL_FILES, RealGold, import_real_files


@pytest.hookimpl(optionalhook=True)  # an xdist hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with the files of one shared session fixture on one worker (tests/xdist_groups.py)."""
    if config.getoption("dist") != "loadfile":
        return None
    from tests.xdist_groups import SharedFixtureScheduling

    return SharedFixtureScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: its controller grouped the files by their text
        from tests.xdist_groups import check_groups

        check_groups(config.rootpath, items)


@pytest.fixture(scope="session")
def real_gold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealGold]:
    """Every real éCO2mix file imported once into one Gold DB, read-only for its users (they copy it to write)."""
    if not REAL_FILES:
        pytest.skip(f"no real éCO2mix files under {ECO2MIX}")
    gold = import_real_files(tmp_path_factory.mktemp("real-gold") / "gold.sqlite")
    stamp = gold.db.stat()
    yield gold
    after = gold.db.stat()
    assert (after.st_size, after.st_mtime_ns) == (stamp.st_size, stamp.st_mtime_ns), "a test wrote to real_gold"
    wal = gold.db.with_name(gold.db.name + "-wal")  # a reader still open keeps an empty one
    assert not wal.exists() or wal.stat().st_size == 0, "a test left writes in real_gold's WAL"
