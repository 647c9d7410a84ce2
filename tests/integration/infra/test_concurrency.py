"""Activity concurrency and instance limits are set on purpose and agree with each other (host.json, Bicep)."""

from __future__ import annotations

import json
import math
import re
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


def test_performance_doc_states_the_limits_it_explains() -> None:
    doc = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    durable = durable_task()
    assert f"maxConcurrentActivityFunctions` {durable['maxConcurrentActivityFunctions']}" in doc
    assert f"maxConcurrentOrchestratorFunctions` {durable['maxConcurrentOrchestratorFunctions']}" in doc


def test_http_concurrency_per_instance_is_the_measured_choice(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    # Unset, Flex runs a Python app's HTTP triggers one at a time per instance: the choice is measured through
    # the real worker (python -m bench.worker_concurrency), stated in docs/performance.md, deployed by main.bicep.
    performance = (REPO / "docs/performance.md").read_text(encoding="utf-8")
    stated = re.search(r"`perInstanceConcurrency` (\d+)", performance)
    assert stated, "docs/performance.md states no perInstanceConcurrency choice"
    chosen = int(stated.group(1))
    params = template_of(bicep_templates, "main.bicep")["parameters"]
    assert params["httpPerInstanceConcurrency"]["default"] == chosen > 1
    site = template_of(bicep_templates, "app/api.bicep")["resources"]["functionApp"]["config"]
    http = site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["triggers"]["http"]
    assert http["perInstanceConcurrency"] == "httpPerInstanceConcurrency"  # the parameter, not a literal
    parameters = json.loads((REPO / "infra/bicep/main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["httpPerInstanceConcurrency"]["value"].endswith(f"={chosen}}}")
