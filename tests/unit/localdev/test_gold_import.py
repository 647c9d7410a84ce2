"""Importer: upsert semantics, one transaction per file, DST, and every real file of ../shared/data/eco2mix."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from localdev import gold_import
from localdev.eco2mix_files import Eco2mixFormatError, parse_eco2mix
from localdev.gold_import import import_files, write_parsed
from localdev.gold_schema import create_schema
from stores.gold import gold_reader

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "eco2mix"
ODRE = FIXTURES / "odre_cons_def_hdf_dst.csv"
ODRE_FACTS = 18 * 9
T1 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def clock_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def loaded_ats(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT loaded_at, COUNT(*) FROM FACT_ENERGY_FLOW GROUP BY loaded_at").fetchall())
    finally:
        conn.close()


def variant(tmp_path: Path, name: str, transform: Callable[[bytes], bytes], source: Path = ODRE) -> Path:
    """A copy of a fixture with some bytes changed (a newer or a broken edition of the same file)."""
    path = tmp_path / name
    path.write_bytes(transform(source.read_bytes()))
    return path


def test_reimporting_the_same_file_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "gold.sqlite"
    [first] = import_files(db, [ODRE], clock=clock_at(T1))
    assert (first.facts_written, first.facts_updated, first.facts_unchanged) == (ODRE_FACTS, 0, 0)
    assert first.region_code == "32" and first.loaded_at == text(T1)
    [again] = import_files(db, [ODRE], clock=clock_at(T1 + timedelta(days=1)))
    assert (again.facts_written, again.facts_updated, again.facts_unchanged) == (0, 0, ODRE_FACTS)
    assert again.loaded_at is None
    assert loaded_ats(db) == {text(T1): ODRE_FACTS}


@pytest.mark.parametrize(
    ("old", "new", "updated", "partition"),
    [
        # one MW value of 2024-10-27 02:00+01:00 changes: only that fact is replaced
        (b"02:00:00+01:00;4268;", b"02:00:00+01:00;4300;", 1, "2024-10-27"),
        # a TCH (load factor) of the same row changes
        (b";83.55;", b";83.56;", 1, "2024-03-31"),
        # the nature of every row of one day changes
        (
            b"Donn\xc3\xa9es consolid\xc3\xa9es;2024-03-31",
            b"Donn\xc3\xa9es d\xc3\xa9finitives;2024-03-31",
            8 * 9,
            "2024-03-31",
        ),
    ],
)
def test_a_newer_file_replaces_changed_facts_and_bumps_their_loaded_at(
    tmp_path: Path, old: bytes, new: bytes, updated: int, partition: str
) -> None:
    db = tmp_path / "gold.sqlite"
    import_files(db, [ODRE], clock=clock_at(T1))
    newer = variant(tmp_path, "newer.csv", lambda b: b.replace(old, new))
    assert newer.read_bytes() != ODRE.read_bytes()
    t2 = T1 + timedelta(hours=2)
    [report] = import_files(db, [newer], clock=clock_at(t2))
    assert (report.facts_written, report.facts_updated) == (0, updated)
    assert loaded_ats(db) == {text(T1): ODRE_FACTS - updated, text(t2): updated}
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=db))
    assert reader.changed_partitions(text(T1)) == [("32", partition, text(t2))]


def test_a_change_imported_with_a_lagging_clock_still_passes_the_watermark(tmp_path: Path) -> None:
    db = tmp_path / "gold.sqlite"
    import_files(db, [ODRE], clock=clock_at(T1))
    newer = variant(tmp_path, "newer.csv", lambda b: b.replace(b";4268;", b";4301;"))
    [report] = import_files(db, [newer], clock=clock_at(T1 - timedelta(days=1)))
    assert report.loaded_at is not None and report.loaded_at > text(T1)


def _break_last_row(data: bytes) -> bytes:
    return data.rstrip(b"\r\n") + b"\r\n32;Hauts-de-France;Donn\xc3\xa9es consolid\xc3\xa9es;2024-10-27;05:00;oops\r\n"


def test_a_malformed_file_loads_nothing_and_earlier_files_stay(tmp_path: Path) -> None:
    db = tmp_path / "gold.sqlite"
    broken = variant(tmp_path, "broken.csv", _break_last_row)
    with pytest.raises(Eco2mixFormatError) as caught:
        import_files(db, [broken])
    assert caught.value.line == 22 and "broken.csv" in str(caught.value)
    assert loaded_ats(db) == {}
    other = variant(tmp_path, "other.csv", lambda b: b, FIXTURES / "rte_paca_2013.csv")
    with pytest.raises(Eco2mixFormatError):
        import_files(db, [other, broken], clock=clock_at(T1))
    assert loaded_ats(db) == {text(T1): 13 * 8}


def test_keep_going_reports_the_error_and_imports_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "gold.sqlite"
    reports = import_files(db, [FIXTURES / "rte_national_2013.zip", ODRE], keep_going=True)
    assert reports[0].error is not None and "national file, no region" in reports[0].error
    assert reports[0].facts_written == 0
    assert reports[1].error is None and reports[1].facts_written == ODRE_FACTS


def test_dst_days_land_on_the_right_local_days(tmp_path: Path) -> None:
    db = tmp_path / "gold.sqlite"
    import_files(db, [ODRE])
    reader = gold_reader(Settings(GOLD_SQLITE_PATH=db))
    spring = reader.region_rows("32", "2024-03-31", "2024-03-31")
    autumn = reader.region_rows("32", "2024-10-27", "2024-10-27")
    assert len({r.horodatage_utc for r in spring}) == 8  # 10 rows minus the two nonexistent 02:xx
    assert len({r.horodatage_utc for r in autumn}) == 10
    assert [p[:2] for p in reader.changed_partitions(None)] == [("32", "2024-03-31"), ("32", "2024-10-27")]


# --- property: the upsert replaces exactly the facts whose content changed ----------------------------------


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.integers(0, ODRE_FACTS - 1), st.one_of(st.none(), st.floats(-1e4, 1e4)), max_size=12))
def test_upsert_touches_exactly_the_changed_facts(tmp_path: Path, changes: dict[int, float | None]) -> None:
    parsed = parse_eco2mix(str(ODRE), ODRE.read_bytes())
    conn = sqlite3.connect(tmp_path / f"prop-{len(list(tmp_path.iterdir()))}.sqlite", isolation_level=None)
    try:
        create_schema(conn)
        first = clock_at(datetime(2025, 1, 1, tzinfo=UTC))
        assert write_parsed(conn, parsed, first) == (ODRE_FACTS, 0, 0, "2025-01-01T00:00:00.000000Z")
        newer = [replace(f, valeur_mw=changes[i]) if i in changes else f for i, f in enumerate(parsed.facts)]
        really_changed = sum(a.valeur_mw != b.valeur_mw for a, b in zip(parsed.facts, newer, strict=True))
        parsed.facts = newer
        assert write_parsed(conn, parsed, clock_at(datetime(2025, 1, 2, tzinfo=UTC))) == (
            0,
            really_changed,
            ODRE_FACTS - really_changed,
            "2025-01-02T00:00:00.000000Z",
        )
        bumped = conn.execute(
            "SELECT COUNT(*) FROM FACT_ENERGY_FLOW WHERE loaded_at = '2025-01-02T00:00:00.000000Z'"
        ).fetchone()[0]
        assert bumped == really_changed
    finally:
        conn.close()


# --- concurrent imports: commit order is loaded_at order ---------------------------------------------------


def _facts(db: Path) -> dict[tuple[int, int, int], str]:
    """Every fact's loaded_at, read in one statement (one consistent snapshot, as a materializer reads)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id_region, id_date, id_source, loaded_at FROM FACT_ENERGY_FLOW").fetchall()
    finally:
        conn.close()
    return {(r, d, s): loaded for r, d, s, loaded in rows}


def test_concurrent_imports_leave_no_fact_below_a_watermark_seen_before_it_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of a loaded_at chosen outside the write transaction: import A picks its (earlier) loaded_at
    and is descheduled, import B commits with a later one, a materializer takes the watermark, then A
    commits below it. Chosen inside the transaction, A holds the write lock: B waits for A and passes it."""
    db = tmp_path / "gold.sqlite"
    import_files(db, [FIXTURES / "odre_tr_paca_2019.csv"], clock=clock_at(T1))  # schema + an initial load
    a_chose, b_done = threading.Event(), threading.Event()
    snapshots: list[dict[tuple[int, int, int], str]] = []
    choose = gold_import._next_loaded_at

    def choose_then_pause(conn: sqlite3.Connection, now: datetime) -> str:
        loaded_at = choose(conn, now)
        if threading.current_thread() is threading.main_thread():  # only import A is descheduled
            a_chose.set()
            b_done.wait(timeout=1.0)  # B's chance to commit first (it cannot while A holds the lock)
        return loaded_at

    monkeypatch.setattr(gold_import, "_next_loaded_at", choose_then_pause)

    def import_b() -> None:
        a_chose.wait(timeout=5.0)
        import_files(db, [ODRE], clock=clock_at(T1 + timedelta(hours=2)))
        snapshots.append(_facts(db))  # a materializer run right after B's commit
        b_done.set()

    b = threading.Thread(target=import_b)
    b.start()
    [a] = import_files(db, [FIXTURES / "odre_tr_paca_2020_imports.csv"], clock=clock_at(T1 + timedelta(hours=1)))
    b.join(timeout=30)
    final = _facts(db)
    [seen] = snapshots
    watermark = max(seen.values())
    missed = {k: v for k, v in final.items() if k not in seen and v <= watermark}
    assert a.facts_written > 0
    assert not missed, f"{len(missed)} facts committed after the watermark {watermark} and below it"
