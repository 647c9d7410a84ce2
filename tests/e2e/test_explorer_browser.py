"""/explorer and /v1/docs in a real browser: Debian's chromium driven by selenium, against devhost over HTTP.

One devhost (the 12 sample regions and FR, one known hole) and one browser for the module. Each state leaves a
screenshot in .artifacts/explorer/ (git-ignored, kept by CI as an artifact of the run).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from devhost.testing import DevhostProcess, devhost_env, free_port
from tests.e2e.explorer_data import HOLE_DAY, HOLE_REGION, build_gold_with_hole
from tests.e2e.explorer_data import REGIONS as EXPLORER_REGIONS
from tests.support import browser
from tests.support.e2e_api import REPO

ARTIFACTS = REPO / ".artifacts" / "explorer"
READY_TIMEOUT = 30.0

if not browser.available():
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: `make test` installs chromium and chromium-driver as root")
    pytest.skip("browser tests: no /usr/bin/chromium + chromedriver (apt-get install chromium chromium-driver)",
                allow_module_level=True)  # fmt: skip

from selenium.webdriver import Chrome  # noqa: E402  (only with a browser to drive)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


class Explorer:
    """The browser on devhost's explorer, plus the API read directly for the expected values."""

    def __init__(self, driver: Chrome, base_url: str, key: str, downloads: Path) -> None:
        self.driver = driver
        self.base_url = base_url
        self.key = key
        self.downloads = downloads

    def api(self, path: str, **params: str) -> Any:
        resp = requests.get(self.base_url + path, params=params, headers={"X-API-Key": self.key}, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def items(self, **params: str) -> list[dict[str, Any]]:
        return list(self.api("/v1/production/regional", limit="5000", **params)["items"])

    def show(self, query: str) -> None:
        self.driver.get(f"{self.base_url}/explorer?{query}")
        self.wait_state()

    def wait_state(self) -> str:
        WebDriverWait(self.driver, READY_TIMEOUT).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("ready", "error")
        )
        state = self.driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        assert state == "ready", self.driver.find_element(By.ID, "status").text
        return state

    def traces(self, chart: str) -> dict[str, dict[str, Any]]:
        """The plotted traces of a chart, by their `meta` (source name, consumption, carbon)."""
        data = self.driver.execute_script(
            "return document.getElementById(arguments[0]).data"
            ".map(t => ({meta: t.meta, x: t.x, y: t.y, customdata: t.customdata || null, text: t.text}));",
            chart,
        )
        return {trace["meta"]: trace for trace in data}

    def console_errors(self) -> list[dict[str, Any]]:
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture(scope="module")
def devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("explorer")
    build_gold_with_hole(data_dir / "gold.sqlite")
    key = secrets.token_urlsafe(24)
    env = devhost_env(data_dir, API_KEYS=f"reader:{hashlib.sha256(key.encode()).hexdigest()}")
    process = DevhostProcess(data_dir, free_port(), [], env)
    try:
        process.start()
        assert process.wait_for("materialize-incremental", 180)["runtimeStatus"] == "Completed"
        yield process.base_url, key
    finally:
        if process.process is not None:
            process.stop()


@pytest.fixture(scope="module")
def explorer(devhost: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    downloads = tmp_path_factory.mktemp("downloads")
    driver = browser.chromium(downloads)
    try:
        base_url, key = devhost
        page = Explorer(driver, base_url, key, downloads)
        driver.get(f"{base_url}/explorer")
        driver.find_element(By.ID, "api-key").send_keys(key + Keys.ENTER)  # entered once for the module
        page.wait_state()
        yield page
    finally:
        driver.quit()


def test_key_is_kept_in_the_session_only(explorer: Explorer) -> None:
    stored = explorer.driver.execute_script("return [sessionStorage.length, localStorage.length, document.cookie]")
    assert stored == [1, 0, ""]
    assert explorer.driver.find_element(By.ID, "api-key").get_attribute("value") == ""
    assert explorer.key not in explorer.driver.current_url


def test_charts_plot_the_api_values_for_a_known_range(explorer: Explorer) -> None:
    explorer.show("region=84&start=2024-03-04&end=2024-03-10&granularity=hour&load_factors=1")
    expected = explorer.items(region_code="84", start_date="2024-03-04", end_date="2024-03-10", granularity="hour")
    assert len(expected) == 7 * 24
    mix = explorer.traces("mix-chart")
    sources = [s for s in ("nucleaire", "hydraulique", "eolien", "solaire", "bioenergies", "thermique") if s in mix]
    assert len(sources) == 6
    stacked = [0.0] * len(expected)
    for source in sources:
        values = [item["sources"][source] for item in expected]
        assert mix[source]["customdata"] == values, source
        stacked = [base + value for base, value in zip(stacked, values, strict=True)]
        assert mix[source]["y"] == pytest.approx(stacked), source
    assert mix["consumption"]["y"] == [item["consumption_mw"] for item in expected]
    assert explorer.traces("carbon-chart")["carbon"]["y"] == [item["carbon_intensity_g_per_kwh"] for item in expected]
    load = explorer.traces("load-chart")
    assert load["nucleaire"]["y"] == [item["facteur_charge"]["nucleaire"] for item in expected]
    assert len(explorer.driver.find_elements(By.CSS_SELECTOR, "#data-table tbody tr")) == len(expected)
    assert explorer.console_errors() == []
    explorer.screenshot("range-hourly-region-84")


@pytest.mark.parametrize(("day", "points"), [("2024-10-27", 50), ("2024-03-31", 46)])
def test_dst_days_are_drawn_on_a_real_time_axis(explorer: Explorer, day: str, points: int) -> None:
    explorer.show(f"region=84&start={day}&end={day}&granularity=30min")
    consumption = explorer.traces("mix-chart")["consumption"]
    assert len(consumption["x"]) == points and None not in consumption["y"]
    steps = {b - a for a, b in zip(consumption["x"], consumption["x"][1:], strict=False)}
    assert steps == {30 * 60 * 1000}  # no overlap, no jump: the repeated (or skipped) hour is where it belongs
    offsets = {text.rsplit(" ", 1)[1] for text in consumption["text"]}
    assert offsets == {"+01:00", "+02:00"}
    assert explorer.console_errors() == []
    explorer.screenshot(f"dst-{day}-{points}-points")


def test_a_missing_interval_is_a_gap_not_a_zero(explorer: Explorer) -> None:
    explorer.show(f"region={HOLE_REGION}&start={HOLE_DAY}&end={HOLE_DAY}&granularity=30min")
    expected = explorer.items(region_code=HOLE_REGION, start_date=HOLE_DAY, end_date=HOLE_DAY, granularity="30min")
    holes = [i for i, item in enumerate(expected) if item["consumption_mw"] is None]
    assert holes == [28, 29]  # 14:00 and 14:30 local
    mix = explorer.traces("mix-chart")
    lines = [trace for meta, trace in mix.items() if not meta.endswith(":area")]
    for trace in (*lines, explorer.traces("carbon-chart")["carbon"]):
        assert [trace["y"][i] for i in holes] == [None, None], trace["meta"]
        assert trace["y"][holes[0] - 1] is not None and trace["y"][holes[-1] + 1] is not None
    # Each stacked band is two closed polygons, before and after the hole: its area never crosses the hole.
    hole_x = {mix["consumption"]["x"][i] for i in holes}
    for meta, area in mix.items():
        if meta.endswith(":area"):
            assert area["x"].count(None) == 2 and not hole_x & set(area["x"]), meta
    rows = explorer.driver.find_elements(By.CSS_SELECTOR, "#data-table tbody tr")
    text = rows[holes[0]].get_attribute("textContent")
    assert text is not None and "missing" in text
    assert explorer.console_errors() == []
    explorer.screenshot("gap-region-11-2024-06-12")


def test_all_regions_sum_the_regions(explorer: Explorer) -> None:
    explorer.show("start=2024-07-01&end=2024-07-31&granularity=day")
    by_region = [explorer.items(region_code=code, start_date="2024-07-01", end_date="2024-07-31", granularity="day")
                 for code in EXPLORER_REGIONS]  # fmt: skip
    consumption = explorer.traces("mix-chart")["consumption"]["y"]
    assert len(consumption) == 31 and len(by_region) == 12
    totals = [sum(day["consumption_mw"] for day in days) for days in zip(*by_region, strict=True)]
    assert consumption == pytest.approx(totals)
    explorer.screenshot("all-regions-july-daily")


@pytest.mark.parametrize(
    ("query", "format_", "params", "file_name"),
    [
        ("region=84", "csv", {"region_code": "84", "month": "2024-03"}, "eco2mix_84_2024-03.csv"),
        ("region=84", "parquet", {"region_code": "84", "month": "2024-03"}, "eco2mix_84_2024-03.parquet"),
        ("region=", "parquet", {"month": "2024-03"}, "eco2mix_all_2024-03.parquet"),  # what is shown: every region
    ],
)
def test_a_download_button_returns_the_file(
    explorer: Explorer, query: str, format_: str, params: dict[str, str], file_name: str
) -> None:
    explorer.show(f"{query}&start=2024-03-04&end=2024-03-10&granularity=hour")
    region = params.get("region_code", "")
    selector = f"button.download[data-format='{format_}'][data-month='2024-03'][data-region='{region}']"
    explorer.driver.find_element(By.CSS_SELECTOR, selector).click()
    expected = requests.get(
        f"{explorer.base_url}/v1/export/{format_}", params=params, headers={"X-API-Key": explorer.key}, timeout=60
    ).content
    target = explorer.downloads / file_name
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and not (target.exists() and target.stat().st_size == len(expected)):
        time.sleep(0.1)
    assert target.read_bytes() == expected
    if format_ == "csv":
        assert expected.startswith(b"\xef\xbb\xbf")
    else:
        frame = pd.read_parquet(io.BytesIO(expected))
        assert set(frame["region_code"]) == ({region} if region else set(EXPLORER_REGIONS))
        assert frame["timestamp"].dt.strftime("%Y-%m").eq("2024-03").all()
    assert explorer.console_errors() == []
    explorer.screenshot(f"download-{format_}-{region or 'all'}-2024-03")


def _requests_sent(driver: Chrome) -> list[tuple[str, str, dict[str, str]]]:
    """(method, url, headers) of each request the page sent, from the DevTools Network events; the ExtraInfo
    events carry the headers as they went on the wire (a cross-origin fetch's included)."""
    sent: dict[str, tuple[str, str, dict[str, str]]] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent":
            request = params["request"]
            method, url, headers = request["method"], request["url"], dict(request["headers"])
            previous = sent.get(params["requestId"], (method, url, {}))
            sent[params["requestId"]] = (method, url, {**previous[2], **headers})
        elif message.get("method") == "Network.requestWillBeSentExtraInfo":
            method, url, headers = sent.get(params["requestId"], ("", "", {}))
            sent[params["requestId"]] = (method, url, {**headers, **params["headers"]})
    return [(m, u, {k.lower(): v for k, v in h.items()}) for m, u, h in sent.values()]


def test_explorer_download_sends_no_api_key_to_storage(devhost: tuple[str, str], tmp_path: Path) -> None:
    """The page on another origin than the signed links (localhost vs 127.0.0.1, as the gateway vs Blob Storage in
    Azure): the file is fetched without X-API-Key. A followed 302 would carry the key there, and the links' CORS
    rule (devhost mirrors the exports container's) refuses that preflight: the download fails."""
    base_url, key = devhost
    page_origin = base_url.replace("127.0.0.1", "localhost")
    assert page_origin != base_url
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = browser.chromium(downloads, network_log=True)
    try:
        page = Explorer(driver, page_origin, key, downloads)
        driver.get(f"{page_origin}/explorer?region=84&start=2024-03-04&end=2024-03-10&granularity=hour")
        driver.find_element(By.ID, "api-key").send_keys(key + Keys.ENTER)
        page.wait_state()
        driver.find_element(By.CSS_SELECTOR, "button.download[data-format='csv'][data-region='84']").click()
        target = downloads / "eco2mix_84_2024-03.csv"
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and not target.exists():
            time.sleep(0.1)
        status = driver.find_element(By.ID, "status").text
        assert target.exists(), status
        expected = requests.get(
            f"{base_url}/v1/export/csv", params={"region_code": "84", "month": "2024-03"},
            headers={"X-API-Key": key}, timeout=60,
        ).content  # fmt: skip
        assert target.read_bytes() == expected and status.startswith("Downloaded eco2mix_84_2024-03.csv")
        sent = _requests_sent(driver)
        to_storage = [(method, headers) for method, url, headers in sent if url.startswith(f"{base_url}/_files/")]
        assert [method for method, _ in to_storage] == ["GET"]  # a simple request: no preflight either
        assert all("x-api-key" not in headers and "authorization" not in headers for _, headers in to_storage)
        asked = [headers for method, url, headers in sent if url.startswith(f"{page_origin}/v1/export/csv")]
        assert [h.get("x-api-key") for h in asked] == [key]  # the key went to the API alone
        assert page.console_errors() == []
    finally:
        driver.quit()


# --- FR, the forecast band, the greenest window, the attribution (issue 25) ---------------------------------

# The sample data ends on 2024-12-31 (local): a range over the last days of 2024 reaches the forecast's origin.
LAST_DAYS = "start=2024-12-29&end=2024-12-31&granularity=30min"
_OPTION_VALUES = "return [...document.getElementById(arguments[0]).options].map(o => o.value);"


def _epoch_ms(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


def _shape_ms(value: Any) -> int:
    """A shape's x as plotly keeps it on a date axis: ms, or a UTC date string."""
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp() * 1000)


def test_fr_is_listed_and_plotted_with_the_api_values(explorer: Explorer) -> None:
    explorer.show("region=FR&start=2024-03-04&end=2024-03-05&granularity=hour")
    options = explorer.driver.execute_script(_OPTION_VALUES, "region")
    assert options[-1] == "FR" and set(EXPLORER_REGIONS) < set(options)
    expected = explorer.items(region_code="FR", start_date="2024-03-04", end_date="2024-03-05", granularity="hour")
    assert len(expected) == 48 and all(item["region"] == "FR" for item in expected)
    mix = explorer.traces("mix-chart")
    assert mix["consumption"]["y"] == [item["consumption_mw"] for item in expected]
    plotted = [s for s in ("nucleaire", "hydraulique", "eolien", "solaire", "bioenergies", "thermique") if s in mix]
    assert plotted and plotted == [s for s in plotted if any(item["sources"].get(s) is not None for item in expected)]
    for source in plotted:
        assert mix[source]["customdata"] == [item["sources"][source] for item in expected], source
    assert explorer.traces("carbon-chart")["carbon"]["y"] == [item["carbon_intensity_g_per_kwh"] for item in expected]
    assert "France" in explorer.driver.find_element(By.ID, "status").text
    assert explorer.console_errors() == []
    explorer.screenshot("fr-hourly-2024-03-04")


@pytest.mark.parametrize("region", ["FR", "84"])
def test_the_forecast_band_follows_the_last_measured_point(explorer: Explorer, region: str) -> None:
    explorer.show(f"region={region}&{LAST_DAYS}")
    forecast = explorer.api(f"/v1/forecast/regional/{region}", horizon="48")
    carbon = explorer.traces("carbon-chart")
    assert {"carbon", "forecast", "forecast:lower", "forecast:upper"} <= set(carbon)
    values = [i["carbon_intensity_g_per_kwh"] for i in forecast["intervals"]]
    assert len(values) == 96
    assert carbon["forecast"]["x"] == [_epoch_ms(i["timestamp"]) for i in forecast["intervals"]]
    assert carbon["forecast"]["y"] == [v["value"] for v in values]
    assert carbon["forecast:lower"]["y"] == [v["lower"] for v in values]
    assert carbon["forecast:upper"]["y"] == [v["upper"] for v in values]
    for k in (0, 12, 47, 95):  # a few points, as the API gives them
        assert carbon["forecast"]["y"][k] == values[k]["value"] and values[k]["lower"] <= values[k]["upper"]
    # After the last measured point, from the forecast's origin: the first forecast half-hour follows it.
    measured = [x for x, y in zip(carbon["carbon"]["x"], carbon["carbon"]["y"], strict=True) if y is not None]
    assert carbon["forecast"]["x"][0] == _epoch_ms(forecast["origin"]) == max(measured) + 30 * 60 * 1000
    # Filled between the 10 % and 90 % edges, dashed, named a forecast with the model's expected error.
    styles = explorer.driver.execute_script(
        "return document.getElementById('carbon-chart').data.map(t => [t.meta, t.fill || null, t.line.dash || null,"
        " t.name, t.showlegend !== false]);"
    )
    by_meta = {meta: (fill, dash, name, legend) for meta, fill, dash, name, legend in styles}
    assert by_meta["forecast:upper"][0] == "tonexty" and by_meta["forecast"][1] == "dash"
    bands = forecast["models"]["carbon_intensity_g_per_kwh"]["bands"]
    name = by_meta["forecast"][2]
    assert name.startswith("Forecast") and by_meta["forecast"][3] and by_meta["carbon"][2].endswith("(measured)")
    for band in bands:
        assert f"{band['mae']:.1f}" in name, band
    note = explorer.driver.find_element(By.ID, "forecast-note")
    assert note.is_displayed() and "MAE" in note.text and "No weather input" in note.text
    assert "forecast" in explorer.driver.find_element(By.ID, "status").text
    assert explorer.console_errors() == []
    explorer.screenshot(f"forecast-band-{region}")


def test_no_forecast_when_the_range_ends_before_the_data(explorer: Explorer) -> None:
    explorer.show("region=FR&start=2024-12-20&end=2024-12-27&granularity=hour")
    assert set(explorer.traces("carbon-chart")) == {"carbon"}
    assert not explorer.driver.find_element(By.ID, "forecast-note").is_displayed()
    spans = explorer.driver.execute_script(_OPTION_VALUES, "greenest-span")
    assert spans == ["plotted"]  # the forecast's span only when the forecast is drawn


def _find_greenest(explorer: Explorer, duration: str, span: str) -> dict[str, Any]:
    driver = explorer.driver
    Select(driver.find_element(By.ID, "greenest-duration")).select_by_value(duration)
    Select(driver.find_element(By.ID, "greenest-span")).select_by_value(span)
    driver.execute_script("window.explorer.greenest = null;")
    driver.find_element(By.ID, "greenest-find").click()
    WebDriverWait(driver, READY_TIMEOUT).until(
        lambda d: d.find_element(By.ID, "greenest-caption").text.startswith(("Greenest ", "No ", "Greenest window:"))
    )
    shapes = driver.execute_script("return (document.getElementById('carbon-chart').layout.shapes || [])"
                                   ".map(s => ({name: s.name, type: s.type, x0: s.x0, x1: s.x1}));")  # fmt: skip
    return {"caption": driver.find_element(By.ID, "greenest-caption").text,
            "markers": [s for s in shapes if s["name"] == "greenest-window"]}  # fmt: skip


@pytest.mark.parametrize(
    ("duration", "span", "params", "basis"),
    [
        # The days shown, up to the forecast's origin: measured.
        ("PT2H", "plotted", {"start": "2024-12-29T00:00:00+01:00", "end": "2024-12-31T23:00:00Z"}, "measured"),
        # The forecast's 48 h.
        ("PT4H", "forecast", {"start": "2024-12-31T23:00:00Z", "end": "2025-01-02T23:00:00.000Z"}, "forecast"),
        ("PT1H", "forecast", {"start": "2024-12-31T23:00:00Z", "end": "2025-01-02T23:00:00.000Z"}, "forecast"),
    ],
)
def test_the_greenest_window_marker_is_the_apis_answer(
    explorer: Explorer, duration: str, span: str, params: dict[str, str], basis: str
) -> None:
    explorer.show(f"region=FR&{LAST_DAYS}")
    found = _find_greenest(explorer, duration, span)
    answer = explorer.api("/v1/intensity/greenest-window", region_code="FR", duration=duration, k="1", **params)
    assert answer["basis"] == basis and answer["best"] is not None
    best = answer["best"]
    [marker] = found["markers"]
    assert marker["type"] == "rect"
    assert (_shape_ms(marker["x0"]), _shape_ms(marker["x1"])) == (_epoch_ms(best["start"]), _epoch_ms(best["end"]))
    caption = found["caption"]
    assert caption.startswith("Greenest ") and basis in caption
    assert best["start"][:10] in caption and best["start"][11:16] in caption and best["end"][11:16] in caption
    assert f"{best['mean_intensity_g_per_kwh']:.1f}" in caption and f"{best['saving_pct']:.1f} %" in caption
    if basis == "forecast":
        assert f"{answer['expected_error']['mae_g_per_kwh']:.1f}" in caption
    assert explorer.driver.execute_script("return window.explorer.greenest.best.start") == best["start"]
    assert explorer.console_errors() == []
    explorer.screenshot(f"greenest-{duration}-{span}-FR")


def test_the_footer_gives_the_licence_source_and_date_of_the_data(explorer: Explorer) -> None:
    explorer.show("region=84&start=2024-03-04&end=2024-03-04&granularity=hour")
    updated = explorer.api("/v1/methodologies")["data_last_updated"]  # 2025-01-15T06:00:00.000000Z
    footer = explorer.driver.find_element(By.TAG_NAME, "footer")
    WebDriverWait(explorer.driver, READY_TIMEOUT).until(lambda d: updated[:10] in footer.text)
    text = footer.text
    assert "Licence Ouverte" in text and "RTE éCO2mix via ODRÉ" in text
    assert f"{updated[:10]} {updated[11:16]} UTC" in text


def test_health_is_degraded_for_staleness_with_the_default_setting(explorer: Explorer) -> None:
    """This devhost keeps the default HEALTH_STALE_AFTER_SECONDS (2 h): its 2024 data is stale, still served."""
    resp = requests.get(f"{explorer.base_url}/v1/health", timeout=30)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "degraded" and body["checks"]["materialization"]["status"] == "ok"
    freshness = body["checks"]["freshness"]
    assert freshness["status"] == "degraded" and freshness["stale_after_seconds"] == 7200
    assert freshness["newest_interval"] == "2024-12-31T23:30:00+01:00" and freshness["age_seconds"] > 7200
    assert explorer.items(region_code="84", start_date="2024-12-31", end_date="2024-12-31")  # still served


def test_controls_are_reachable_with_the_keyboard(explorer: Explorer) -> None:
    explorer.show("region=84&start=2024-03-04&end=2024-03-04&granularity=hour")
    driver = explorer.driver
    driver.find_element(By.ID, "api-key").click()
    reached = []
    for _ in range(20):  # a date input takes three stops (day, month, year)
        driver.switch_to.active_element.send_keys(Keys.TAB)
        reached.append(driver.switch_to.active_element.get_attribute("id"))
    for control in ("save-key", "forget-key", "region", "start", "end", "granularity", "load-factors", "show"):
        assert control in reached
    for _ in range(10):  # then the greenest window's controls, under the carbon chart
        driver.switch_to.active_element.send_keys(Keys.TAB)
        reached.append(driver.switch_to.active_element.get_attribute("id"))
    for control in ("greenest-duration", "greenest-span", "greenest-find"):
        assert control in reached
    # Enter on the button finds the window: the marker and its caption.
    driver.find_element(By.ID, "greenest-find").send_keys(Keys.ENTER)
    WebDriverWait(driver, READY_TIMEOUT).until(
        lambda d: d.find_element(By.ID, "greenest-caption").text.startswith("Greenest 2 hours")
    )
    explorer.show("region=84&start=2024-03-04&end=2024-03-04&granularity=hour")
    # Enter on a control submits the form: the page draws the same range again.
    driver.find_element(By.ID, "granularity").send_keys(Keys.ENTER)
    explorer.wait_state()
    assert "24 points" in driver.find_element(By.ID, "status").text


# Colours of every text element the page draws, with the first opaque background behind it.
_COLOURS_JS = """
const opaque = (el) => {
  for (; el; el = el.parentElement) {
    const bg = getComputedStyle(el).backgroundColor;
    if (bg && !bg.endsWith(", 0)") && bg !== "transparent") return bg;
  }
  return "rgb(255, 255, 255)";
};
return [...document.querySelectorAll(arguments[0])]
  .filter((el) => el.offsetParent !== null && el.textContent.trim())
  .map((el) => [el.tagName + (el.id ? "#" + el.id : ""), getComputedStyle(el).color, opaque(el)]);
"""


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_text_has_at_least_aa_contrast(explorer: Explorer) -> None:
    explorer.show("region=84&start=2024-03-04&end=2024-03-04&granularity=hour")
    explorer.driver.find_element(By.ID, "table-title").click()  # the table too
    selectors = "h1, h2, p, label, button, option, summary, caption, th, td, a, code"
    colours = explorer.driver.execute_script(_COLOURS_JS, selectors)
    assert len(colours) > 50
    for name, fg, bg in colours:
        light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (name, fg, bg)


def test_docs_page_renders_swagger_ui_and_tries_a_call_with_the_key(explorer: Explorer) -> None:
    driver = explorer.driver
    driver.get(f"{explorer.base_url}/v1/docs")
    wait = WebDriverWait(driver, READY_TIMEOUT)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
    key_input = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".auth-container input[type=text]"))
    key_input.send_keys(explorer.key)
    driver.find_element(By.CSS_SELECTOR, ".auth-container button.authorize").click()
    driver.find_element(By.CSS_SELECTOR, ".btn-done").click()
    driver.find_element(By.CSS_SELECTOR, "#operations-regions-listRegions .opblock-summary-control").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#operations-regions-listRegions .execute")).click()
    status = wait.until(
        lambda d: d.find_element(
            By.CSS_SELECTOR, "#operations-regions-listRegions .live-responses-table tr.response .response-col_status"
        )
    )
    assert status.text.strip().startswith("200")
    assert explorer.console_errors() == []
    explorer.screenshot("docs-try-it-regions")
