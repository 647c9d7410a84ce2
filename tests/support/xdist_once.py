"""Work done once per pytest run however many pytest-xdist workers run it (`make test` runs `-n 2`).

As pytest-xdist documents ("Making session-scoped fixtures execute only once"): the workers of one run share
the parent of their base temporary directories; the first worker that asks builds the thing there under a file
lock, the others wait on the lock and reuse what it left. Without xdist the build goes to this run's own base
directory. The lock is fcntl's (POSIX; released by the kernel if its holder dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_DONE = ".built"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing) between processes, held for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The directory `name`, filled by `build(directory)` once per run: by the first xdist worker to ask."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    directory = root / name
    with file_lock(root / f"{name}.lock"):
        if not (directory / _DONE).exists():
            if directory.exists():  # a build that failed part way
                raise RuntimeError(f"{directory}: an earlier build failed; see the first worker's error")
            directory.mkdir()
            build(directory)
            (directory / _DONE).touch()
    return directory
