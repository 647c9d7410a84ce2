"""`python -m bench.explorer`: page weight of /explorer and its time to first chart on devhost (31 days, hourly).

Starts devhost on the cached 1-year sample Gold (12 regions, materialized first), opens the page in Debian's
headless chromium (selenium), enters the reader key once, then loads the 31-day hourly range N times, cold
(browser cache disabled) and warm, for one region and for all regions. Prints the figures; it is a benchmark,
not a test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from pathlib import Path
from typing import Any

import requests

from bench.durable import wait_completed
from bench.gold_data import cached_gold
from devhost.testing import DevHost, new_api_keys
from tests.support import browser

RANGE = "start=2024-07-01&end=2024-07-31&granularity=hour"
CACHE_DIR = Path(".bench/gold")


def _resources(driver: Any) -> list[dict[str, Any]]:
    script = (
        "return [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]"
        ".map(e => ({name: e.name, transfer: e.transferSize, decoded: e.decodedBodySize}));"
    )
    entries: list[dict[str, Any]] = driver.execute_script(script)
    return entries


def _load(driver: Any, url: str, timeout: float = 60.0) -> dict[str, Any]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("ready", "error")
    )
    status = driver.find_element(By.ID, "status").text
    if driver.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "ready":
        raise RuntimeError(f"explorer failed: {status}")
    timing: dict[str, Any] = driver.execute_script(
        "return {first: window.explorer.firstChartMs, points: window.explorer.rows.length}"
    )
    return {**timing, "resources": _resources(driver), "status": status}


def page_weight(base_url: str) -> list[tuple[str, int, int]]:
    """(path, bytes, bytes gzipped on the wire) of the page and every asset it references."""
    page = requests.get(f"{base_url}/explorer", timeout=30)
    paths = ["/explorer", *re.findall(r'(?:src|href)="(/explorer/assets/[^"]+)"', page.text)]
    sizes = []
    for path in paths:
        plain = requests.get(base_url + path, headers={"Accept-Encoding": "identity"}, timeout=30)
        packed = requests.get(base_url + path, headers={"Accept-Encoding": "gzip"}, timeout=30, stream=True)
        wire = len(packed.raw.read(decode_content=False))
        sizes.append((path, len(plain.content), wire))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explorer", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="page loads per case (default 5)")
    args = parser.parse_args()
    if not browser.available():
        raise SystemExit("needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)")
    gold, _ = cached_gold(CACHE_DIR, 1, 2024, 7)
    keys = new_api_keys()
    with (
        tempfile.TemporaryDirectory(prefix="bench-explorer-") as data_dir,
        DevHost(Path(data_dir), keys, extra_env={"GOLD_SQLITE_PATH": str(gold)}) as host,
    ):
        host.wait_ready()
        wait_completed(host.base_url, timeout=600)
        driver = browser.chromium()
        try:
            run(driver, host.base_url, keys.reader, args.runs)
        finally:
            driver.quit()


def run(driver: Any, base_url: str, key: str, runs: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base_url}/explorer")
    driver.find_element(By.ID, "api-key").send_keys(key + Keys.ENTER)
    print(f"explorer on devhost {base_url}, 31 days hourly ({RANGE}), {runs} loads per case, median [min-max]")
    sizes = page_weight(base_url)
    for path, plain, wire in sizes:
        print(f"  {path}: {plain:,} bytes ({wire:,} gzipped)")
    total_plain, total_wire = sum(s[1] for s in sizes), sum(s[2] for s in sizes)
    print(f"page weight: {len(sizes)} files, {total_plain:,} bytes, {total_wire:,} bytes on the wire (gzip)")
    driver.execute_cdp_cmd("Network.enable", {})
    for label, query in (("one region (84)", f"region=84&{RANGE}"), ("all regions", RANGE)):
        for cache in ("cold", "warm"):
            driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": cache == "cold"})
            loads = [_load(driver, f"{base_url}/explorer?{query}") for _ in range(runs)]
            firsts = [load["first"] for load in loads]
            data = [r for r in loads[-1]["resources"] if "/v1/" in r["name"]]
            data_bytes = sum(r["transfer"] for r in data)
            print(
                f"time to first chart, {label}, {cache} cache: {statistics.median(firsts):.0f} ms "
                f"[{min(firsts):.0f}-{max(firsts):.0f}] ({loads[-1]['points']} points; "
                f"{len(data)} API calls, {data_bytes:,} bytes transferred)"
            )


if __name__ == "__main__":
    main()
