"""Every setting the code reads (core.settings.Settings) is deployed by the Bicep app settings or is
local-only for a stated reason, and is documented in docs/configuration.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from localdev.configuration_doc import HOST_SETTINGS, local_only
from tests.support.bicep import REPO, template_of

# Settings that exist only for local runs and tests, with the reason Azure never sets them: marked in Settings
# (json_schema_extra "local"), as docs/configuration.md shows them. The host's settings: HOST_SETTINGS.
LOCAL_ONLY: dict[str, str] = {
    name: reason for name, field in Settings.model_fields.items() if (reason := local_only(field)) is not None
}

CONFIGURATION_SECTION = re.compile(r"^## Configuration\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def _resolve(template: dict[str, Any], value: Any) -> Any:
    """A Bicep value as pycep gives it: a parameter's default, a variable's value, or itself."""
    if isinstance(value, dict) and value.get("function", {}).get("type") == "string":
        value = value["function"]["parameters"]["value_to_convert"]
    if isinstance(value, str):
        if value in template.get("parameters", {}):
            return template["parameters"][value]["default"]
        if value in template.get("variables", {}):
            return template["variables"][value]["value"]
    return value


@pytest.fixture(scope="module")
def main_template(bicep_templates: dict[Path, dict[str, Any]]) -> dict[str, Any]:
    return template_of(bicep_templates, "main.bicep")


@pytest.fixture(scope="module")
def deployed_settings(bicep_templates: dict[Path, dict[str, Any]], main_template: dict[str, Any]) -> set[str]:
    """Names of every app setting of the Function App: main.bicep's plus app/api.bicep's identity ones."""
    main_settings = main_template["variables"]["appSettings"]["value"]
    identity_settings = template_of(bicep_templates, "app/api.bicep")["variables"]["identitySettings"]["value"]
    return set(main_settings) | set(identity_settings)


def documented_configuration() -> str:
    match = CONFIGURATION_SECTION.search((REPO / "docs" / "configuration.md").read_text(encoding="utf-8"))
    assert match, "docs/configuration.md has no '## Configuration' section"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_deployed_or_local_only(deployed_settings: set[str], name: str) -> None:
    deployed, local = name in deployed_settings, name in LOCAL_ONLY
    assert deployed != local, f"{name}: deployed={deployed}, local-only={local}; exactly one must hold"


def test_local_only_settings_say_why() -> None:
    assert len(LOCAL_ONLY) >= 9 and all(len(reason) > 20 for reason in LOCAL_ONLY.values()), LOCAL_ONLY


def test_every_deployed_setting_is_read_by_the_code_or_the_host(deployed_settings: set[str]) -> None:
    assert deployed_settings - set(Settings.model_fields) == set(HOST_SETTINGS)


def test_host_json_placeholders_are_deployed(deployed_settings: set[str]) -> None:
    host_json = (REPO / "host.json").read_text(encoding="utf-8")
    json.loads(host_json)  # valid JSON first
    placeholders = set(re.findall(r"%([A-Za-z0-9_]+)%", host_json))
    assert placeholders <= deployed_settings


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name: str) -> None:
    """One line per setting: `- `NAME`: meaning. Default ...`."""
    assert re.search(rf"^- `{re.escape(name)}`: .+ Default ", documented_configuration(), re.MULTILINE), name


@pytest.mark.parametrize("name", sorted(HOST_SETTINGS))
def test_host_setting_is_documented(name: str) -> None:
    assert re.search(rf"^- `{re.escape(name)}`: ", documented_configuration(), re.MULTILINE), name


# Knobs whose Bicep default must be the code's default, so Azure and local runs behave alike.
SHARED_DEFAULTS = [
    "MATERIALIZE_SCHEDULE",
    "MATERIALIZE_BATCH_SIZE",
    "DOWNLOAD_TTL_SECONDS",
    "GOLD_ODBC_DRIVER",
    "COSMOS_DATABASE",
    "COSMOS_CONTAINER",
    "BLOB_CONTAINER",
    "RATE_LIMIT_ANONYMOUS_REQUESTS",
]


@pytest.mark.parametrize("name", SHARED_DEFAULTS)
def test_bicep_default_matches_code_default(main_template: dict[str, Any], name: str) -> None:
    bicep_value = _resolve(main_template, main_template["variables"]["appSettings"]["value"][name])
    assert str(bicep_value) == str(Settings.model_fields[name].default)


def test_identity_based_connections(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    identity = template_of(bicep_templates, "app/api.bicep")["variables"]["identitySettings"]["value"]
    assert identity["AzureWebJobsStorage__credential"] == "managedidentity"
    assert identity["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    assert not any("ConnectionString" in key or key.endswith("_KEY") for key in identity)
