"""`python -m devhost serve` as a subprocess: keys printed, HTTP triggers and the Durable API, clean SIGTERM."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from devhost.testing import DevhostProcess

pytestmark = pytest.mark.e2e
APP = "tests.fixtures.devhost_apps.scenarios:app"


def test_serve_over_real_http(launch_devhost: Callable[..., DevhostProcess], tmp_path: Path) -> None:
    host = launch_devhost(app=APP)
    output = host.output()
    assert "API key (reader): " in output and "API key (operator): " in output
    assert f"system key code={host.webhook_headers()['x-functions-key']}" in output  # printed for the operator

    echo = requests.get(f"{host.base_url}/echo/3/tail?q=1", headers={"X-Probe": "yes"}, timeout=10)
    assert echo.status_code == 200
    assert echo.json()["route"] == {"item": "3", "rest": "tail"} and echo.json()["header"] == "yes"
    missing = requests.get(f"{host.base_url}/not/a/route", timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/problem+json")

    started = requests.post(f"{host.base_url}/orchestrators/parent/p1", timeout=10)
    assert started.status_code == 202
    result = host.wait_for("p1", 30)
    assert result["output"] == {"child": [2, 4, 8], "counted": 3}
    listing = requests.get(
        f"{host.base_url}/runtime/webhooks/durabletask/instances?runtimeStatus=Completed",
        headers=host.webhook_headers(),
        timeout=10,
    )
    assert {"p1", "p1-counter"} <= {s["instanceId"] for s in listing.json()}

    assert host.stop() == 0
    assert "devhost stopping" in host.output()
