"""The real éCO2mix files of ../shared/data/eco2mix (or $ECO2MIX_DATA_DIR), imported once per session.

Importing them takes about a minute; the importer's tests (tests/integration/stores/test_gold_import_real.py) and the
reconciliation (tests/integration/domain/test_reconciliation.py) read the same Gold DB, built by the
run fixture `real_gold` of tests/conftest.py. Its users only read it: a test that must write to it works
on a copy (`copy_of`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from localdev.eco2mix_files import Eco2mixFormatError
from localdev.gold_import import ImportReport, import_files

ECO2MIX = Path(os.environ.get("ECO2MIX_DATA_DIR", Path(__file__).resolve().parents[3] / "shared/data/eco2mix"))
# Every file but SOURCES.md, in path order: the order the session imports them in.
REAL_FILES = sorted(p for p in ECO2MIX.rglob("*") if p.is_file() and p.suffix != ".md") if ECO2MIX.is_dir() else []


@dataclass(frozen=True)
class RealGold:
    """A Gold DB holding every real file, and what importing each one gave: its report or its error."""

    db: Path
    results: dict[Path, ImportReport | str]

    def copy_of(self, target: Path) -> Path:
        """A consistent copy of the DB at `target` (sqlite backup), for a test that writes."""
        with sqlite3.connect(self.db) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return target


def import_real_files(db: Path) -> RealGold:
    """Import each real file on its own, in order: a rejected file is recorded and does not stop the others."""
    results: dict[Path, ImportReport | str] = {}
    for path in REAL_FILES:
        started = time.perf_counter()
        try:
            [report] = import_files(db, [path])
        except Eco2mixFormatError as exc:  # NationalFileError for the national files
            results[path] = str(exc)
            continue
        results[path] = report
        print(
            f"\n{path.name}: {report.rows_read} rows read, {report.facts_written} facts written, "
            f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.2f} s"
        )
    return RealGold(db, results)
