"""Sample Gold data: realistic shapes, exact balance, DST days, missing-not-zero, determinism, speed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from domain.models import GoldRow
from domain.regions import REGIONS, REGIONS_BY_CODE, Region
from localdev.sample_data import NATURE_CONSOLIDATED, NATURE_FINAL, PROFILES, build_sample_gold
from stores.gold import GoldReader, gold_reader

SUBSET = ["11", "84"]  # no nuclear and no pumping / nuclear and pumped storage


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("sample") / "gold.sqlite"
    return path, build_sample_gold(path, years=1, last_year=2024, region_codes=SUBSET)


@pytest.fixture(scope="module")
def conn(sample_db: tuple[Path, int]) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(sample_db[0])
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def reader(sample_db: tuple[Path, int]) -> GoldReader:
    return gold_reader(Settings(GOLD_SQLITE_PATH=sample_db[0]))


def scalar(conn: sqlite3.Connection, sql: str, *params: object) -> object:
    return conn.execute(sql, params).fetchone()[0]


FACTS_BY_SOURCE = (
    "SELECT COUNT(*) FROM FACT_ENERGY_FLOW f JOIN DIM_SOURCE s USING (id_source) "
    "WHERE f.id_region = ? AND s.source_name = ?"
)


def test_returned_count_is_what_was_written(conn: sqlite3.Connection, sample_db: tuple[Path, int]) -> None:
    assert scalar(conn, "SELECT COUNT(*) FROM FACT_ENERGY_FLOW") == sample_db[1]
    half_hours = 366 * 48  # 2024 is a leap year; the two DST days cancel out (46 + 50)
    assert scalar(conn, "SELECT COUNT(*) FROM DIM_TIME") == half_hours
    # 11: 6 sources without nuclear + consommation + ech_physiques, no pompage; 84: all 9.
    assert sample_db[1] == half_hours * (7 + 9)


@pytest.mark.parametrize("code", SUBSET)
def test_nuclear_and_pumping_rows_exist_only_where_they_apply(conn: sqlite3.Connection, code: str) -> None:
    nuclear = scalar(conn, FACTS_BY_SOURCE, int(code), "nucleaire")
    assert (nuclear > 0) == REGIONS_BY_CODE[code].has_nuclear  # type: ignore[operator]
    pumping = scalar(conn, FACTS_BY_SOURCE, int(code), "pompage")
    assert (pumping > 0) == (PROFILES[code].pumping is not None)  # type: ignore[operator]
    assert scalar(conn, "SELECT MAX(valeur_mw) FROM FACT_ENERGY_FLOW WHERE id_source = 7") <= 0  # type: ignore[operator]


@pytest.mark.parametrize(("day", "half_hours"), [("2024-03-31", 46), ("2024-10-27", 50), ("2024-06-15", 48)])
def test_dst_days_have_46_or_50_half_hours(reader: GoldReader, day: str, half_hours: int) -> None:
    for code in SUBSET:
        rows = reader.region_rows(code, day, day)
        assert len({r.horodatage_utc for r in rows}) == half_hours


def test_consumption_is_production_plus_pumping_plus_exchanges_at_every_instant(conn: sqlite3.Connection) -> None:
    worst = scalar(
        conn,
        "SELECT MAX(ABS(residual)) FROM (SELECT SUM(CASE WHEN id_source = 9 THEN valeur_mw ELSE -valeur_mw END) "
        "AS residual FROM FACT_ENERGY_FLOW GROUP BY id_region, id_date)",
    )
    assert worst == 0
    assert scalar(conn, "SELECT COUNT(*) FROM FACT_ENERGY_FLOW WHERE valeur_mw IS NULL") == 0


def test_solar_follows_the_sun_and_consumption_the_season(reader: GoldReader) -> None:
    june = reader.region_rows("84", "2024-06-10", "2024-06-20")
    solar_by_hour: dict[int, list[float]] = {}
    for r in june:
        if r.source_name == "solaire" and r.valeur_mw is not None:
            solar_by_hour.setdefault(int(r.horodatage_utc[11:13]), []).append(r.valeur_mw)
    assert max(solar_by_hour[0]) == 0 and max(solar_by_hour[1]) == 0  # night
    assert min(solar_by_hour[11]) > 0  # midday
    january = reader.region_rows("84", "2024-01-10", "2024-01-20")

    def mean_consumption(rows: list[GoldRow]) -> float:
        values = [r.valeur_mw for r in rows if r.source_name == "consommation" and r.valeur_mw is not None]
        return sum(values) / len(values)

    assert mean_consumption(january) > 1.2 * mean_consumption(june)


def test_load_factors_only_for_production_sources(conn: sqlite3.Connection) -> None:
    rows = conn.execute(
        "SELECT s.category, MIN(f.facteur_charge), MAX(f.facteur_charge), COUNT(f.facteur_charge) "
        "FROM FACT_ENERGY_FLOW f JOIN DIM_SOURCE s USING (id_source) GROUP BY s.category ORDER BY s.category"
    ).fetchall()
    by_category = {r[0]: r[1:] for r in rows}
    assert by_category["balance"][2] == 0 and by_category["consumption"][2] == 0
    low, high, count = by_category["production"]
    assert count > 0 and low >= 0 and high <= 100


def test_nature_is_consolidated_only_in_the_last_month(conn: sqlite3.Connection) -> None:
    rows = conn.execute(
        "SELECT SUBSTR(t.date_locale, 1, 7), f.nature FROM FACT_ENERGY_FLOW f JOIN DIM_TIME t USING (id_date) "
        "GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    assert [m for m, n in rows if n == NATURE_CONSOLIDATED] == ["2024-12"]
    assert len([m for m, n in rows if n == NATURE_FINAL]) == 11


def test_same_arguments_give_the_same_rows(tmp_path: Path, conn: sqlite3.Connection) -> None:
    again = tmp_path / "again.sqlite"
    build_sample_gold(again, years=1, last_year=2024, region_codes=["11"])
    query = "SELECT * FROM FACT_ENERGY_FLOW WHERE id_region = 11 ORDER BY id_date, id_source"
    other = sqlite3.connect(again)
    try:
        assert other.execute(query).fetchall() == conn.execute(query).fetchall()
    finally:
        other.close()
    different = tmp_path / "seed.sqlite"
    build_sample_gold(different, years=1, last_year=2024, seed=8, region_codes=["11"])
    other = sqlite3.connect(different)
    try:
        assert other.execute(query).fetchall() != conn.execute(query).fetchall()
    finally:
        other.close()


@pytest.mark.parametrize("region", REGIONS, ids=[r.code for r in REGIONS])
def test_every_region_has_a_profile_with_nuclear_exactly_where_it_has_plants(region: Region) -> None:
    profile = PROFILES[region.code]
    assert (profile.nucleaire > 0) == region.has_nuclear
    assert profile.consumption > 0 and profile.solaire > 0 and profile.eolien > 0


def test_years_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="years"):
        build_sample_gold(tmp_path / "x.sqlite", years=0)


@pytest.mark.slow
def test_a_full_year_of_all_regions_builds(tmp_path: Path) -> None:
    written = build_sample_gold(tmp_path / "gold.sqlite", years=1, last_year=2024)
    nuclear_regions = sum(r.has_nuclear for r in REGIONS)
    no_pumping = sum(p.pumping is None for p in PROFILES.values())
    assert written == 366 * 48 * (12 * 9 - (12 - nuclear_regions) - no_pumping)
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=tmp_path / "gold.sqlite"))
    assert len(reader.changed_partitions(None)) == 12 * 366
    conn = sqlite3.connect(tmp_path / "gold.sqlite")
    try:
        with_nuclear = conn.execute(
            "SELECT r.code_insee FROM DIM_REGION r WHERE EXISTS (SELECT 1 FROM FACT_ENERGY_FLOW f "
            "WHERE f.id_region = r.id_region AND f.id_source = 1) ORDER BY 1"
        ).fetchall()
    finally:
        conn.close()
    assert [c for (c,) in with_nuclear] == sorted(r.code for r in REGIONS if r.has_nuclear)
