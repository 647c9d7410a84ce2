"""Every setting the code reads (core.settings.Settings) is deployed by the Bicep app settings or is
local-only for a stated reason, and is documented in docs/configuration.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from tests.support.bicep import REPO, template_of

# Settings that exist only for local runs and tests; Azure never sets them.
LOCAL_ONLY: dict[str, str] = {
    "GOLD_SQLITE_PATH": "embedded Gold DB (SQLite file); Azure reads Azure SQL through GOLD_SQL_SERVER",
    "GOLD_ODBC_CONNECTION_STRING": "tests (SQLite ODBC driver) or SQL logins; Azure uses the managed identity",
    "COSMOS_KEY": "emulator key; the Cosmos DB account has local (key) auth disabled",
    "COSMOS_VERIFY_TLS": "false only for the emulator's self-signed certificate; the default (true) is right",
    "EMBEDDED_DOCUMENTS_MMAP_MIB": "embedded document store (devhost); Azure reads Cosmos DB",
    "BLOB_CONNECTION_STRING": "Azurite account key; the storage account has shared keys disabled",
    "FILES_SIGNING_KEY": "embedded file store (HMAC links served by devhost); Azure uses user-delegation SAS",
    "PUBLIC_BASE_URL": "base URL of devhost's embedded download links",
    "AUTH_JWKS_URL": "derived from AUTH_TENANT_ID in Azure; tests point it at a local JWKS",
    "WEBHOOKS_ALLOW_LOOPBACK": "local development: webhooks to a receiver on 127.0.0.1; never allowed in Azure",
}

# App settings Bicep sets that Settings does not read: they configure the Functions host or SDKs.
HOST_SETTINGS: dict[str, str] = {
    "AzureWebJobsStorage__accountName": "identity-based host storage (blobs, queues, tables of Durable)",
    "AzureWebJobsStorage__credential": "identity-based host storage",
    "AzureWebJobsStorage__clientId": "identity-based host storage: which user-assigned identity",
    "AZURE_CLIENT_ID": "azure-identity's default credential picks the user-assigned identity",
    "DURABLE_TASK_HUB": "host.json durableTask.hubName",
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


def test_local_only_list_names_real_settings() -> None:
    assert set(LOCAL_ONLY) <= set(Settings.model_fields)


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
