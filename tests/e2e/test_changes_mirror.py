"""A client mirrors the data through GET /v1/changes on the real app (devhost over HTTP) while Gold is revised
and extended and materializations interleave (a backfill through the operator API beside the timer's
incremental runs every 2 s); it ends with exactly the documents the server serves."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env
from localdev.gold_import import import_files

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eco2mix"
HDF, PACA = "32", "93"
REVISED_DAY = "2024-03-31"
EOLIEN_COLUMN = 9  # "Eolien (MW)" in the ODRÉ files
TIMEOUT = 10


def revised_hdf(dest: Path) -> int:
    """The HDF fixture with 100 MW more wind on REVISED_DAY, now definitive data; the number of rows revised."""
    text = (FIXTURES / "odre_cons_def_hdf_dst.csv").read_bytes().decode("utf-8")
    lines, revised = [], 0
    for line in text.splitlines(keepends=True):
        fields = line.split(";")
        if len(fields) > EOLIEN_COLUMN and fields[3] == REVISED_DAY:
            fields[2] = "Données définitives"
            fields[EOLIEN_COLUMN] = str(int(fields[EOLIEN_COLUMN]) + 100)
            revised += 1
        lines.append(";".join(fields))
    dest.write_bytes("".join(lines).encode("utf-8"))
    return revised


class Mirror:
    """The client: follows the feed (small pages) and keeps the document behind each announced item."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.session = base_url, requests.Session()
        self.session.headers["X-API-Key"] = key
        self.cursor: str | None = None
        self.docs: dict[str, Any] = {}
        self.items_seen: list[tuple[str, str, str]] = []

    def get(self, url: str) -> requests.Response:
        return self.session.get(url if url.startswith("http") else self.base_url + url, timeout=TIMEOUT)

    def follow(self) -> int:
        """Read the feed until caught up; the number of items read."""
        url = "/v1/changes?limit=3" + (f"&since={self.cursor}" if self.cursor else "")
        read = 0
        while url:
            page = self.get(url)
            assert page.status_code == 200, page.text
            body = page.json()
            for item in body["items"]:
                doc = self.get(item["href"])
                assert doc.status_code == 200, (item, doc.text)
                self.docs[item["href"]] = doc.json()
                self.items_seen.append((item["region"], item["kind"], item.get("date") or item["month"]))
            read += body["count"]
            self.cursor, url = body["cursor"], body["next"]
        return read


def served(mirror: Mirror) -> dict[str, Any]:
    """Every day and month document the server serves now, by the href the feed gives them."""
    docs: dict[str, Any] = {}
    for region in mirror.get("/v1/regions").json()["items"]:
        if region["first_day"] is None:
            continue
        first, last = date.fromisoformat(region["first_day"]), date.fromisoformat(region["last_day"])
        months = sorted({(first + timedelta(days=n)).isoformat()[:7] for n in range((last - first).days + 1)})
        for month in months:
            query = f"region_code={region['code']}&start_date={month}-01"
            end = (date.fromisoformat(f"{month}-01") + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            href = f"{mirror.base_url}/v1/production/regional?{query}&end_date={end.isoformat()}&granularity=day"
            page = mirror.get(href).json()
            if not page["items"]:
                continue
            docs[href] = page
            for day in page["items"]:
                day_href = f"{mirror.base_url}/v1/production/regional/{region['code']}/{day['date']}"
                docs[day_href] = mirror.get(day_href).json()
    return docs


def test_a_mirror_following_the_feed_ends_equal_to_the_server(
    launch_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    keys = {role: secrets.token_urlsafe(16) for role in ("reader", "operator")}
    api_keys = ",".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}" for role, key in keys.items())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    gold = data_dir / "gold.sqlite"
    import_files(gold, [FIXTURES / "odre_cons_def_hdf_dst.csv", FIXTURES / "odre_tr_paca_2019.csv"])
    env = devhost_env(data_dir, API_KEYS=api_keys, MATERIALIZE_SCHEDULE="*/2 * * * * *")
    host = launch_devhost(data_dir=data_dir, env=env)
    assert host.wait_for("materialize-incremental", 120)["runtimeStatus"] == "Completed", host.output()[-3000:]

    mirror = Mirror(host.base_url, keys["reader"])
    # HDF: 2 days and their 2 months; PACA: 1 day and its month; FR (incomplete: 10 or 11 regions missing, so
    # its values are null, never a partial sum): the same 3 days and 3 months.
    assert mirror.follow() == 4 + 2 + 6
    assert mirror.docs == served(mirror)

    # Gold changes while the client keeps reading: a new day, a revised day, a backfill over the revised month.
    revised_rows = revised_hdf(tmp_path / "hdf_revised.csv")
    errors: list[BaseException] = []

    def operator() -> None:
        try:
            import_files(gold, [FIXTURES / "odre_tr_paca_2020_imports.csv"])
            import_files(gold, [tmp_path / "hdf_revised.csv"])
            started = requests.post(
                f"{host.base_url}/v1/admin/backfills",
                json={"start_date": "2024-03-01", "end_date": "2024-03-31"},
                headers={"X-API-Key": keys["operator"]},
                timeout=TIMEOUT,
            )
            assert started.status_code == 202, started.text
            status_url = f"{host.base_url}/v1/admin/backfills/{started.json()['id']}"
            while True:
                status = requests.get(status_url, headers={"X-API-Key": keys["operator"]}, timeout=TIMEOUT).json()
                if status["runtime_status"] not in ("Pending", "Running"):
                    assert status["runtime_status"] == "Completed", status
                    return
                time.sleep(0.2)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=operator)
    thread.start()
    while thread.is_alive():
        mirror.follow()
        time.sleep(0.05)
    thread.join()
    assert not errors, errors

    # The timer's incremental run materializes the new day (and the revision, if the backfill did not first).
    deadline = time.monotonic() + 60
    while mirror.get(f"/v1/production/regional/{PACA}/2020-05-01").status_code != 200:
        assert time.monotonic() < deadline, host.output()[-3000:]
        time.sleep(0.5)
    time.sleep(2.5)  # one more timer tick: a run that was writing as the day appeared has committed
    mirror.follow()
    final = served(mirror)
    assert mirror.docs == final
    assert {(r, k, key) for r, k, key in mirror.items_seen} >= {(PACA, "day", "2020-05-01"), (HDF, "day", REVISED_DAY)}

    revisions = mirror.get(f"/v1/production/regional/{HDF}/{REVISED_DAY}/revisions")
    assert revisions.status_code == 200
    versions = revisions.json()["items"]
    current = final[f"{host.base_url}/v1/production/regional/{HDF}/{REVISED_DAY}"]
    assert versions[-1]["content_hash"] == current["content_hash"]
    assert [v["nature"] for v in versions] == ["Données consolidées", "Données définitives"]
    # 100 MW more over every half-hour with wind data (the file repeats a row and has rows in the DST gap).
    windy = [i for i in current["intervals"] if i["sources"].get("eolien") is not None]
    assert 0 < len(windy) <= revised_rows
    assert versions[-1]["changes"]["energy_mwh"]["eolien"] == pytest.approx(100 * 0.5 * len(windy))
    unknown = mirror.get(f"/v1/production/regional/{HDF}/2024-03-30/revisions")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith("application/problem+json")
