"""Debian's headless chromium driven by selenium (no browser download): shared by the benchmark and tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1400",
)


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def chromium(downloads: Path | None = None, network_log: bool = False) -> Chrome:
    """A new headless chromium; console messages kept for `get_log("browser")`; downloads saved to `downloads`;
    with `network_log`, the DevTools Network events (each request, headers as sent) in `get_log("performance")`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    if downloads is not None:
        prefs = {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if network_log else {})})
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
