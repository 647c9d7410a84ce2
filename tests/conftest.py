"""Fixtures shared across the test tree. Under pytest-xdist (`make test`: -n 2 --dist loadfile) a session
fixture is built by each worker, except what tests/support/xdist_once.py builds once for the run."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.real_eco2mix import ECO2MIX, REAL_FILES, RealGold, import_real_files
from tests.support.xdist_once import built_once


def _import_real_gold(directory: Path) -> None:
    gold = import_real_files(directory / "gold.sqlite")
    (directory / "results.pickle").write_bytes(pickle.dumps(gold.results))


@pytest.fixture(scope="session")
def real_gold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealGold]:
    """Every real éCO2mix file imported once per run into one Gold DB, read-only for its users (they copy it to
    write); the xdist workers share the one import."""
    if not REAL_FILES:
        pytest.skip(f"no real éCO2mix files under {ECO2MIX}")
    directory = built_once(tmp_path_factory, "real-gold", _import_real_gold)
    results = pickle.loads((directory / "results.pickle").read_bytes())
    gold = RealGold(directory / "gold.sqlite", results)
    stamp = gold.db.stat()
    yield gold
    after = gold.db.stat()
    assert (after.st_size, after.st_mtime_ns) == (stamp.st_size, stamp.st_mtime_ns), "a test wrote to real_gold"
    wal = gold.db.with_name(gold.db.name + "-wal")  # a reader still open keeps an empty one
    assert not wal.exists() or wal.stat().st_size == 0, "a test left writes in real_gold's WAL"
