"""devhost on the Azure backends (cosmosdb-server, Azurite) over HTTP: the aio read path answers as the embedded one.

Two devhost processes, one on the emulator stores (its reads awaited through the aio clients on the event loop),
one on the embedded stores; March 2024 of region 11 is backfilled through the API into each. Every answer is
compared byte for byte, errors included (their request ids aside).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devhost.testing import DevHost
from tests.integration import emulators
from tests.support.azure_devhosts import REGION, azure_backed_devhosts

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, DevHost], str]]:
    reason = emulators.missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"emulators unavailable under CI: {reason}", pytrace=False)
        pytest.skip(f"emulators unavailable: {reason}")
    with azure_backed_devhosts(Path(tmp_path_factory.mktemp("azure-reads"))) as (started, keys):
        yield started, keys.reader


def get_both(hosts: tuple[dict[str, DevHost], str], path: str, **headers: str) -> dict[str, requests.Response]:
    started, key = hosts
    return {
        mode: requests.get(
            host.base_url + path, headers={"X-API-Key": key, **headers}, allow_redirects=False, timeout=30
        )
        for mode, host in started.items()
    }


def comparable(response: requests.Response) -> tuple[Any, ...]:
    """Status, the headers a client acts on, and the body; the request id (random per request) left out, and
    each devhost's own address in links written as {base}."""
    kept = ("Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Vary", "Retry-After")
    base = "{0.scheme}://{0.netloc}".format(urlsplit(response.url)).encode()
    body: Any = response.content.replace(base, b"{base}")
    if response.headers.get("Content-Type", "").startswith("application/problem+json"):
        body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status_code, {h: response.headers.get(h) for h in kept}, body


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/v1/production/regional/{REGION}/2024-03-31", 200),  # the spring DST day: 46 half-hours
        (f"/v1/production/regional/{REGION}/2024-03-15", 200),
        (f"/v1/production/regional/{REGION}/2024-05-01", 404),  # not materialized
        (f"/v1/production/regional?region_code={REGION}&start_date=2024-03-01&end_date=2024-03-31", 200),
        (
            f"/v1/production/regional?region_code={REGION}&start_date=2024-03-01&end_date=2024-03-31"
            "&granularity=hour&limit=100&offset=200",
            200,
        ),
        (
            f"/v1/production/regional?region_code={REGION}&start_date=2024-01-01&end_date=2024-03-31&granularity=day",
            200,
        ),
        ("/v1/production/regional?start_date=2024-03-30&end_date=2024-03-31&granularity=hour", 200),
        ("/v1/production/regional?region_code=11&start_date=2024-03-31&end_date=2024-03-01", 400),
    ],
)
def test_reads_answer_the_same_bytes_on_both_backends(
    hosts: tuple[dict[str, DevHost], str], path: str, status: int
) -> None:
    both = get_both(hosts, path)
    assert both["azure"].status_code == status, both["azure"].text[:300]
    assert comparable(both["azure"]) == comparable(both["embedded"])


def test_the_dst_day_has_46_half_hours_on_the_aio_path(hosts: tuple[dict[str, DevHost], str]) -> None:
    day = get_both(hosts, f"/v1/production/regional/{REGION}/2024-03-31")["azure"].json()
    assert day["interval_count"] == 46 and len(day["intervals"]) == 46


def test_gzip_and_conditional_reads_agree(hosts: tuple[dict[str, DevHost], str]) -> None:
    path = f"/v1/production/regional/{REGION}/2024-03-20"
    gzipped = get_both(hosts, path, **{"Accept-Encoding": "gzip"})
    assert comparable(gzipped["azure"]) == comparable(gzipped["embedded"])
    etag = gzipped["azure"].headers["ETag"]
    again = get_both(hosts, path, **{"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert {mode: r.status_code for mode, r in again.items()} == {"embedded": 304, "azure": 304}


def test_csv_links_point_at_the_same_file_and_download_it(hosts: tuple[dict[str, DevHost], str]) -> None:
    both = get_both(hosts, f"/v1/export/csv?region_code={REGION}&date=2024-03-31")
    assert {mode: r.status_code for mode, r in both.items()} == {"embedded": 302, "azure": 302}
    links = {mode: r.headers["Location"] for mode, r in both.items()}
    assert links["azure"].split("?", 1)[0].endswith(links["embedded"].split("?", 1)[0].rsplit("/_files", 1)[1])
    files = {mode: requests.get(url, timeout=30) for mode, url in links.items()}
    assert files["azure"].status_code == 200
    assert files["azure"].content == files["embedded"].content
    assert files["azure"].content.startswith("\ufeff".encode())  # UTF-8 with BOM, as the contract says


def test_a_missing_export_file_is_the_same_404(hosts: tuple[dict[str, DevHost], str]) -> None:
    both = get_both(hosts, f"/v1/export/csv?region_code={REGION}&date=2024-06-01")
    assert both["azure"].status_code == 404
    assert comparable(both["azure"]) == comparable(both["embedded"])
