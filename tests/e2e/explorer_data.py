"""The sample Gold DB for the explorer's browser tests: the 12 regions (so FR, their sum, is complete and has a
forecast), one year, one known hole."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.regions import REGIONS as ALL_REGIONS
from localdev.gold_schema import region_id
from localdev.sample_data import build_sample_gold

REGIONS = tuple(r.code for r in ALL_REGIONS)  # 11 Île-de-France has no nuclear, 84 Auvergne-Rhône-Alpes every source
HOLE_REGION = "11"
HOLE_DAY = "2024-06-12"
# One local hour with no facts at all: its half-hours (and the hour) are absent from Gold.
HOLE_START = datetime(2024, 6, 12, 14, 0, tzinfo=ZoneInfo("Europe/Paris"))
HOLE_MINUTES = 60


def build_gold_with_hole(db_path: Path) -> None:
    build_sample_gold(db_path, years=1, region_codes=REGIONS)
    first = int(HOLE_START.timestamp() // 60)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "DELETE FROM FACT_ENERGY_FLOW WHERE id_region = ? AND id_date >= ? AND id_date < ?",
            (region_id(HOLE_REGION), first, first + HOLE_MINUTES),
        )
