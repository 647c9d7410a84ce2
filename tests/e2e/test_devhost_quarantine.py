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
from stores.gold_import import import_files

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
