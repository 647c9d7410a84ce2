"""The real app on devhost: Gold rows of an unknown source and an unknown region are quarantined, the rest
materializes, the run completes, and an operator reads the quarantine through the API."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env
from localdev.gold_import import import_files

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eco2mix" / "odre_cons_def_hdf_dst.csv"
HDF = "32"  # the fixture's region: 2024-03-31 and 2024-10-27


def gold_with_bad_rows(data_dir: Path) -> None:
    """The fixture's facts, plus a source Gold knows and the domain does not (on 2024-10-27) and a region
    outside the 12 (a copy of 2024-03-31)."""
    gold = data_dir / "gold.sqlite"
    import_files(gold, [FIXTURE])
    with sqlite3.connect(gold) as conn:
        conn.execute("INSERT INTO DIM_SOURCE VALUES (99, 'hydrogene', 'production', 'MW')")
        conn.execute("INSERT INTO DIM_REGION VALUES (99, '99', 'Atlantide')")
        conn.execute(
            "INSERT INTO FACT_ENERGY_FLOW SELECT f.id_region, f.id_date, 99, f.valeur_mw, NULL, f.nature, f.loaded_at "
            "FROM FACT_ENERGY_FLOW f JOIN DIM_TIME t ON t.id_date = f.id_date "
            "WHERE t.date_locale = '2024-10-27' AND f.id_source = 1"
        )
        conn.execute(
            "INSERT INTO FACT_ENERGY_FLOW SELECT 99, f.id_date, f.id_source, f.valeur_mw, f.facteur_charge, f.nature, "
            "f.loaded_at FROM FACT_ENERGY_FLOW f JOIN DIM_TIME t ON t.id_date = f.id_date "
            "WHERE t.date_locale = '2024-03-31' AND f.id_region = 32"
        )


def test_bad_rows_are_quarantined_and_reported(launch_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> None:
    keys = {role: secrets.token_urlsafe(16) for role in ("reader", "operator")}
    api_keys = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in keys.items())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    gold_with_bad_rows(data_dir)
    host = launch_devhost(data_dir=data_dir, env=devhost_env(data_dir, API_KEYS=api_keys))

    run = host.wait_for("materialize-incremental", 120)
    assert run["runtimeStatus"] == "Completed", host.output()[-3000:]
    quarantine = run["output"]["quarantine"]
    assert quarantine["unknown_sources"] == ["hydrogene"] and quarantine["unknown_regions"] == ["99"]
    assert quarantine["partitions"] == [
        {"region_code": HDF, "month": "2024-10", "days": ["2024-10-27"]},
        {"region_code": "99", "month": "2024-03", "days": ["2024-03-31"]},
    ]
    assert run["output"]["watermark"] is not None

    def get(path: str, role: str) -> requests.Response:
        return requests.get(f"{host.base_url}{path}", headers={"X-API-Key": keys[role]}, timeout=10)

    assert get(f"/v1/production/regional/{HDF}/2024-03-31", "reader").status_code == 200  # the rest materialized
    assert get(f"/v1/production/regional/{HDF}/2024-10-27", "reader").status_code == 404

    report = get("/v1/admin/quarantine", "operator")
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("application/json")
    body = report.json()
    assert body["count"] == 2 and body["unknown_sources"] == ["hydrogene"] and body["unknown_regions"] == ["99"]
    assert [(d["region_code"], d["date"]) for d in body["days"]] == [(HDF, "2024-10-27"), ("99", "2024-03-31")]
    assert get("/v1/admin/quarantine", "reader").status_code == 403


# --- issue 22: no region held hostage by a failing batch ------------------------------------------------

PACA, PDL = "93", "52"


def gold_with_a_text_value(data_dir: Path) -> str:
    """The fixture's region 32, a copy of its 2024-03-31 in region 93 with one value stored as text ('n/a':
    SQLite keeps text in a REAL column, as a loader that skipped its cast would), and a copy of 2024-10-27 in
    region 52 loaded later. Returns the newest loaded_at."""
    gold = data_dir / "gold.sqlite"
    import_files(gold, [FIXTURE])
    with sqlite3.connect(gold) as conn:
        ids = dict(conn.execute("SELECT code_insee, id_region FROM DIM_REGION").fetchall())
        conn.execute(
            "INSERT INTO FACT_ENERGY_FLOW SELECT ?, f.id_date, f.id_source, f.valeur_mw, f.facteur_charge, f.nature, "
            "f.loaded_at FROM FACT_ENERGY_FLOW f JOIN DIM_TIME t ON t.id_date = f.id_date "
            "WHERE t.date_locale = '2024-03-31' AND f.id_region = ?",
            (ids[PACA], ids[HDF]),
        )
        conn.execute(
            "UPDATE FACT_ENERGY_FLOW SET valeur_mw = 'n/a' WHERE id_region = ? AND id_date = "
            "(SELECT MIN(id_date) FROM FACT_ENERGY_FLOW WHERE id_region = ?) AND id_source = 1",
            (ids[PACA], ids[PACA]),
        )
        conn.execute(
            "INSERT INTO FACT_ENERGY_FLOW SELECT ?, f.id_date, f.id_source, f.valeur_mw, f.facteur_charge, f.nature, "
            "'2030-01-01T00:00:00.000000Z' FROM FACT_ENERGY_FLOW f JOIN DIM_TIME t ON t.id_date = f.id_date "
            "WHERE t.date_locale = '2024-10-27' AND f.id_region = ?",
            (ids[PDL], ids[HDF]),
        )
        assert conn.execute("SELECT COUNT(*) FROM FACT_ENERGY_FLOW WHERE typeof(valeur_mw) = 'text'").fetchone() == (1,)
        (newest,) = conn.execute("SELECT MAX(loaded_at) FROM FACT_ENERGY_FLOW").fetchone()
    return str(newest)


def _keys() -> tuple[dict[str, str], str]:
    keys = {role: secrets.token_urlsafe(16) for role in ("reader", "operator")}
    return keys, ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in keys.items())


def test_run_with_one_failing_region_month_completes_for_the_others(
    launch_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    keys, api_keys = _keys()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    newest = gold_with_a_text_value(data_dir)
    host = launch_devhost(data_dir=data_dir, env=devhost_env(data_dir, API_KEYS=api_keys))

    run = host.wait_for("materialize-incremental", 120)
    assert run["runtimeStatus"] == "Completed", host.output()[-3000:]
    output = run["output"]
    assert [(f["region_code"], f["month"]) for f in output["quarantine"]["failed"]] == [(PACA, "2024-03")]
    assert "n/a" in output["quarantine"]["failed"][0]["error"]
    assert output["watermark"] == newest  # advanced past the failed batch, to region 52's later load

    def get(path: str, role: str | None = "reader") -> requests.Response:
        headers = {"X-API-Key": keys[role]} if role else {}
        return requests.get(f"{host.base_url}{path}", headers=headers, timeout=10)

    for region, day in ((HDF, "2024-03-31"), (HDF, "2024-10-27"), (PDL, "2024-10-27")):
        assert get(f"/v1/production/regional/{region}/{day}").status_code == 200, (region, day)
    assert get(f"/v1/production/regional/{PACA}/2024-03-31").status_code == 404

    body = get("/v1/admin/quarantine", "operator").json()
    assert [(d["region_code"], d["date"], d["failed"]) for d in body["days"]] == [(PACA, "2024-03-31", True)]
    (month,) = body["months"]
    assert (month["region_code"], month["month"], month["failures"], month["set_aside"]) == (PACA, "2024-03", 1, False)
    assert "ValueError" in month["error"] and "n/a" in month["error"] and len(month["error"]) <= 500

    health = get("/v1/health", None)
    assert health.status_code == 200  # the API serves what materialized: degraded, not down
    check = health.json()["checks"]["materialization"]
    assert health.json()["status"] == "degraded" and check["status"] == "degraded"
    assert check["quarantined_region_months"] == 1 and check["quarantined"] == [f"{PACA}:2024-03"]
    assert check["last_error"] == f"{PACA}:2024-03: ValueError" and "n/a" not in health.text  # no values in public
    assert check["consecutive_failures"] == 0 and check["last_run"]["status"] == "completed"


def test_health_degraded_after_two_failed_runs(launch_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> None:
    """A Gold without its fact table fails the planner: each start's run fails and is recorded; the second in a
    row turns health degraded, naming the failure without its message."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    gold = data_dir / "gold.sqlite"
    import_files(gold, [FIXTURE])
    with sqlite3.connect(gold) as conn:
        conn.execute("DROP TABLE FACT_ENERGY_FLOW")
    checks = []
    for _ in range(2):
        host = launch_devhost(data_dir=data_dir)
        run = host.wait_for("materialize-incremental", 120)
        assert run["runtimeStatus"] == "Failed", host.output()[-3000:]
        health = requests.get(f"{host.base_url}/v1/health", timeout=10)
        assert health.status_code == 200
        checks.append(health.json()["checks"]["materialization"])
        host.stop()
    assert [c["consecutive_failures"] for c in checks] == [1, 2]
    assert [c["status"] for c in checks] == ["ok", "degraded"]
    assert checks[1]["last_error"] == "run failed: OperationalError"
    assert checks[1]["last_run"]["status"] == "failed"
