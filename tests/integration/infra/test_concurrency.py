"""Activity concurrency and instance limits are set on purpose and agree with each other (host.json, Bicep)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.support.bicep import REPO, template_of


def durable_task() -> dict[str, Any]:
    extensions: dict[str, Any] = json.loads((REPO / "host.json").read_text(encoding="utf-8"))["extensions"]
    return dict(extensions["durableTask"])


def test_host_json_sets_both_durable_concurrency_limits() -> None:
    durable = durable_task()
    # Unset, the extension takes 10 per core: on a one-vCPU 2 GB instance that is 10 pandas batches at once.
    assert 1 <= durable["maxConcurrentActivityFunctions"] <= 10
    assert 1 <= durable["maxConcurrentOrchestratorFunctions"] <= 10


def test_one_wave_fits_far_below_the_instance_limit(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    params = template_of(bicep_templates, "main.bicep")["parameters"]
    wave = params["materializeBatchSize"]["default"]
    instances = math.ceil(wave / durable_task()["maxConcurrentActivityFunctions"])
    # The orchestration's wave bounds the Durable group: the instance ceiling is left to the HTTP group.
    assert instances * 4 <= params["maximumInstanceCount"]["default"]
    assert params["instanceMemoryMB"]["default"] == 2048  # the size host.json's activity limit is chosen for


def test_readme_states_the_limits_it_explains() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    durable = durable_task()
    assert f"maxConcurrentActivityFunctions` {durable['maxConcurrentActivityFunctions']}" in readme
    assert f"maxConcurrentOrchestratorFunctions` {durable['maxConcurrentOrchestratorFunctions']}" in readme
