"""Sample Gold databases for the benchmark (cached per size) and the edit that makes one day change."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

LOADED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

TOUCH_DAY = """
UPDATE FACT_ENERGY_FLOW SET valeur_mw = valeur_mw + 1.0, loaded_at = ?
WHERE id_region IN (SELECT id_region FROM DIM_REGION WHERE code_insee = ?)
  AND id_date IN (SELECT id_date FROM DIM_TIME WHERE date_locale = ?)
  AND valeur_mw IS NOT NULL
"""


def cached_gold(cache_dir: Path, years: int, last_year: int, seed: int, *, rebuild: bool = False) -> tuple[Path, float]:
    """Path of a sample Gold DB of `years` years, built once per size; (path, seconds spent building)."""
    from localdev.sample_data import build_sample_gold  # lands with the devhost work; imported late on purpose

    path = cache_dir / f"gold-{years}y-{last_year}-s{seed}.sqlite"
    if path.exists() and not rebuild:
        return path, 0.0
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    build_sample_gold(partial, years=years, last_year=last_year, seed=seed)
    partial.replace(path)
    return path, round(time.perf_counter() - started, 1)


def copy_gold(source: Path, target: Path) -> Path:
    """A private copy for a run that edits Gold (the incremental), so the cache stays pristine."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def fact_rows(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM FACT_ENERGY_FLOW").fetchone()
    return int(count)


def newer_loaded_at(db_path: Path) -> str:
    """A loaded_at after every one in Gold and not before now (the watermark compares text)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        (latest,) = conn.execute("SELECT MAX(loaded_at) FROM FACT_ENERGY_FLOW").fetchone()
    now = datetime.now(UTC)
    if latest:
        bumped = datetime.fromisoformat(str(latest).replace("Z", "+00:00")) + timedelta(seconds=1)
        now = max(now, bumped)
    return now.strftime(LOADED_AT_FORMAT)


def touch_day(db_path: Path, region_code: str, day: str) -> int:
    """Change every value of one region-day in Gold as a reload would; the number of fact rows changed."""
    loaded_at = newer_loaded_at(db_path)
    with sqlite3.connect(db_path, timeout=30) as conn:
        changed = conn.execute(TOUCH_DAY, (loaded_at, region_code, day)).rowcount
    if changed <= 0:
        raise RuntimeError(f"no Gold rows for region {region_code} on {day}")
    return int(changed)
