"""How `make test` splits the suite over pytest-xdist workers (`-n 2 --dist loadfile`, see tests/conftest.py).

loadfile sends each test file whole to one worker, so a module fixture is built once. A session fixture that
several files use would still be built by every worker that runs one of them, and each copy would see only
that worker's tests. The files that use one of SHARED_FIXTURES therefore form one unit per fixture: they run on
one worker, in their usual order, against one instance, as without xdist.

The controller knows tests by node id only, so it finds those files by the fixture names in their text;
each worker then checks, from what its tests really use, that no file was missed (`check_groups`).

(`--dist loadgroup` with xdist_group marks would say the same, but xdist 3.8 cannot rename the node ids of
pytest 9, so its groups are silently ignored there.)
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

# Session fixture -> the unit of the files that use it (the conformance pair needs the worker build).
SHARED_FIXTURES = {
    "real_gold": "real_gold",
    "devhost_server": "devhost_server",
    "pair": "conformance",
    "worker_dir": "conformance",
}
_NAMES = re.compile(r"\b(" + "|".join(SHARED_FIXTURES) + r")\b")


@cache
def group_of_file(root: Path, file: str) -> str:
    """The unit of a test file: its shared fixture's, else the file itself."""
    try:
        text = (root / file).read_text(encoding="utf-8")
    except OSError:
        return file
    found = {SHARED_FIXTURES[name] for name in _NAMES.findall(text)}
    return "+".join(sorted(found)) if found else file


class SharedFixtureScheduling(LoadScopeScheduling):
    """loadfile, with the files of one shared session fixture in one unit."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self.root = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        return group_of_file(self.root, nodeid.split("::", 1)[0])


def check_groups(root: Path, items: list[pytest.Item]) -> None:
    """Fail the run when a test uses a shared fixture its file's unit does not stand for (say, via a conftest)."""
    missed = sorted(
        {
            f"{item.nodeid.split('::', 1)[0]} uses {name}"
            for item in items
            for name in getattr(item, "fixturenames", ())
            if name in SHARED_FIXTURES
            and SHARED_FIXTURES[name] not in group_of_file(root, item.nodeid.split("::", 1)[0]).split("+")
        }
    )
    if missed:
        raise pytest.UsageError(
            "tests/xdist_groups.py: name the shared fixture in the file's text (a parameter) so that its "
            "files run on one worker: " + "; ".join(missed)
        )
