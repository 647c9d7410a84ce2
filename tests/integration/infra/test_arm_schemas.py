"""Every resource body of infra/bicep validates against its official ARM JSON schema (strict: unknown
properties, missing required ones, enum values, literal types), the Flex Consumption rules the schemas do
not encode hold, and azure.yaml validates against azd's schema. Needs ../shared/tools/arm-schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from tests.integration.infra.arm_schemas import (
    AZD_SCHEMA,
    ArmSchemas,
    ResourceBody,
    errors_of,
    require_arm_schemas,
    resource_bodies,
)
from tests.support.bicep import BICEP, REPO, BicepParse, template_of

# Resource types with no schema in ../shared/tools/arm-schemas at any apiVersion (Microsoft.Network and the
# Insights alert types are not stored there), type@apiVersion -> what checks them instead. Adding the provider
# file there turns each into a full schema check (test_exempt_types_have_no_stored_schema_at_any_version says
# when a stored apiVersion could be switched to).
_NETWORK = "private networking; checked by checkov, test_least_privilege.py and test_apim.py, not by a schema"
_ALERTS = "alert rules; checked by checkov and test_alerts.py, not by a schema"
NO_STORED_SCHEMA: dict[str, str] = {
    "Microsoft.Network/virtualNetworks@2024-05-01": _NETWORK,
    "Microsoft.Network/privateDnsZones@2020-06-01": _NETWORK,
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01": _NETWORK,
    "Microsoft.Network/networkSecurityGroups@2024-05-01": _NETWORK,
    "Microsoft.Network/privateEndpoints@2024-05-01": _NETWORK,
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01": _NETWORK,
    "Microsoft.Insights/actionGroups@2023-01-01": _ALERTS,
    "Microsoft.Insights/scheduledQueryRules@2023-12-01": _ALERTS,
}

# Rejected by the Flex Consumption resource provider although the schemas allow them (arm-schemas README).
FLEX_FORBIDDEN_SITE_CONFIG = {"ftpsState"}
FLEX_FORBIDDEN_APP_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_NODE_DEFAULT_VERSION",
    # Flex sizes an instance's language workers itself (one of the settings its deprecation list names):
    # per-instance concurrency is host.json's durableTask limits and the instance size instead.
    "FUNCTIONS_WORKER_PROCESS_COUNT",
}
# What the official Flex samples put in siteConfig, and nothing else (no sample sets http20Enabled,
# remoteDebuggingEnabled, ...): anything new here needs a Flex reference first.
FLEX_SITE_CONFIG_KEYS = {"minTlsVersion", "alwaysOn", "appSettings"}
# Inbound access restrictions, which the Flex Consumption plan documentation lists as supported; set in a
# separate sites/config resource only when API Management is deployed (not on the default path).
FLEX_ACCESS_RESTRICTION_KEYS = {
    "ipSecurityRestrictions",
    "ipSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictionsUseMain",
}


@pytest.fixture(scope="module")
def arm_schemas() -> ArmSchemas:
    require_arm_schemas()
    return ArmSchemas()


@pytest.fixture(scope="module")
def deployed_resources(bicep_templates: dict[Path, dict[str, Any]]) -> list[ResourceBody]:
    resources: list[ResourceBody] = []
    for path, result in sorted(bicep_templates.items()):
        assert result["ok"], result["error"]
        resources.extend(resource_bodies(str(path.relative_to(BICEP)), result["template"]))
    return resources


def _resource_ids() -> list[str]:
    """file:symbol of every `resource` declaration, read from the text (the parametrization needs no parse)."""
    ids = []
    for path in sorted(BICEP.rglob("*.bicep")):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if line.startswith("resource ") and "existing" not in words:
                ids.append(f"{path.relative_to(BICEP)}:{words[1]}")
    return ids


def _find(resources: list[ResourceBody], resource_id: str) -> ResourceBody:
    file, symbol = resource_id.split(":")
    (found,) = [resource for resource in resources if resource.file == file and resource.symbol == symbol]
    return found


@pytest.mark.parametrize("resource_id", _resource_ids())
def test_resource_body_matches_its_arm_schema(
    arm_schemas: ArmSchemas, deployed_resources: list[ResourceBody], resource_id: str
) -> None:
    resource = _find(deployed_resources, resource_id)
    type_version = f"{resource.type}@{resource.api_version}"
    located = arm_schemas.locate(resource.type, resource.api_version, resource.scope)
    if located is None:
        assert type_version in NO_STORED_SCHEMA, f"no stored ARM schema for {type_version}"
        return
    validator = arm_schemas.validator(located)
    for body in resource.bodies:
        assert errors_of(validator, body) == [], json.dumps(body)[:2000]


def test_every_resource_is_validated(arm_schemas: ArmSchemas, deployed_resources: list[ResourceBody]) -> None:
    """The parametrization (read from the text) and the parse see the same resources; most have a schema."""
    assert sorted(f"{r.file}:{r.symbol}" for r in deployed_resources) == sorted(_resource_ids())
    with_schema = [r for r in deployed_resources if arm_schemas.locate(r.type, r.api_version, r.scope)]
    assert len(with_schema) >= 28


def test_no_stale_schema_exemption(arm_schemas: ArmSchemas, deployed_resources: list[ResourceBody]) -> None:
    used = {f"{r.type}@{r.api_version}" for r in deployed_resources}
    assert set(NO_STORED_SCHEMA) <= used
    for type_version in NO_STORED_SCHEMA:
        resource_type, api_version = type_version.split("@")
        assert arm_schemas.locate(resource_type, api_version, "resourceGroup") is None, f"{type_version} has one now"


def test_exempt_types_have_no_stored_schema_at_any_version(arm_schemas: ArmSchemas) -> None:
    """An exempt type with a stored schema at another apiVersion should move to that version (or say why not)."""
    for type_version in NO_STORED_SCHEMA:
        resource_type = type_version.split("@")[0]
        stored = [v for v in sorted(arm_schemas.files) if arm_schemas.locate(resource_type, v, "resourceGroup")]
        assert stored == [], f"{type_version}: a schema is stored for {stored}; switch to it and validate"


# Each case breaks one rule the schemas encode; the validator must name it.
BROKEN_BODIES = [
    pytest.param(
        "properties: {\n    httpsOnly: true\n    siteConfig: {\n      minTlsVerison: '1.2'\n    }\n  }",
        "Additional properties are not allowed ('minTlsVerison' was unexpected)",
        id="unknown-property",
    ),
    pytest.param("properties: {\n    httpsOnly: 'yes'\n  }", "'yes' is not of type 'boolean'", id="literal-type"),
    pytest.param(
        "properties: {\n    siteConfig: {\n      minTlsVersion: '1.9'\n    }\n  }",
        "'1.9' is not one of",
        id="enum",
    ),
    pytest.param("kind: 'functionapp'\n  sku: 'FC1'", "'sku' was unexpected", id="unknown-top-level"),
]


def schema_errors(arm_schemas: ArmSchemas, parse_bicep: BicepParse, text: str) -> list[str]:
    """The schema errors of the one resource declared in a Bicep text, over all its bodies."""
    (resource,) = resource_bodies("-", parse_bicep(["-"], text)["-"]["template"])
    located = arm_schemas.locate(resource.type, resource.api_version, resource.scope)
    assert located is not None
    return [error for body in resource.bodies for error in errors_of(arm_schemas.validator(located), body)]


@pytest.mark.parametrize(("body", "message"), BROKEN_BODIES)
def test_validator_rejects_broken_bodies(
    arm_schemas: ArmSchemas, parse_bicep: BicepParse, body: str, message: str
) -> None:
    """The check can fail: a site with one broken property is reported with the schema's reason."""
    text = f"param name string\nresource site 'Microsoft.Web/sites@2024-04-01' = {{\n  name: name\n  {body}\n}}\n"
    errors = schema_errors(arm_schemas, parse_bicep, text)
    assert any(message in error for error in errors), errors


def test_validator_picks_the_branch_the_name_selects(arm_schemas: ArmSchemas, parse_bicep: BicepParse) -> None:
    """sites/config is one definition per name (web, appsettings, ...): `web` is held to SiteConfig."""
    text = (
        "resource site 'Microsoft.Web/sites@2024-04-01' existing = {\n  name: 'x'\n}\n"
        "resource webConfig 'Microsoft.Web/sites/config@2024-04-01' = {\n  parent: site\n  name: 'web'\n"
        "  properties: {\n    ipSecurityRestrictionsDefaultAction: 'Block'\n  }\n}\n"
    )
    errors = schema_errors(arm_schemas, parse_bicep, text)
    assert errors == ["$.properties.ipSecurityRestrictionsDefaultAction: 'Block' is not one of ['Allow', 'Deny']"]


def test_validator_reports_missing_required(arm_schemas: ArmSchemas, parse_bicep: BicepParse) -> None:
    text = (
        "resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: 'x'\n  properties: {\n"
        "    roleDefinitionId: 'r'\n  }\n}\n"
    )
    errors = schema_errors(arm_schemas, parse_bicep, text)
    assert any("'principalId' is a required property" in error for error in errors), errors


def _function_apps(resources: list[ResourceBody]) -> list[ResourceBody]:
    return [resource for resource in resources if resource.type == "Microsoft.Web/sites"]


def site_config_violations(site_config: dict[str, Any], allowed: set[str]) -> list[str]:
    keys = set(site_config)
    violations = [f"siteConfig.{key} is rejected on Flex" for key in sorted(keys & FLEX_FORBIDDEN_SITE_CONFIG)]
    violations += [f"siteConfig.{key} is set by no Flex sample" for key in sorted(keys - allowed)]
    return violations


def flex_violations(body: dict[str, Any], app_settings: set[str]) -> list[str]:
    """What the Flex Consumption provider rejects (or no Flex sample sets) in one site body."""
    site_config = body.get("properties", {}).get("siteConfig", {})
    violations = site_config_violations(site_config, FLEX_SITE_CONFIG_KEYS)
    if site_config.get("alwaysOn") is True:
        violations.append("siteConfig.alwaysOn must stay false on Flex")
    rejected = sorted(app_settings & FLEX_FORBIDDEN_APP_SETTINGS)
    violations += [f"app setting {name} is rejected on Flex" for name in rejected]
    if "functionAppConfig" not in body.get("properties", {}):
        violations.append("a Flex site declares properties.functionAppConfig")
    return violations


@pytest.fixture(scope="module")
def app_setting_names(bicep_templates: dict[Path, dict[str, Any]]) -> set[str]:
    """Names of every app setting of the Function App: main.bicep's plus app/api.bicep's identity ones."""
    main_settings = template_of(bicep_templates, "main.bicep")["variables"]["appSettings"]["value"]
    identity = template_of(bicep_templates, "app/api.bicep")["variables"]["identitySettings"]["value"]
    return set(main_settings) | set(identity)


def test_function_app_follows_flex_rules(deployed_resources: list[ResourceBody], app_setting_names: set[str]) -> None:
    sites = _function_apps(deployed_resources)
    assert sites, "no Microsoft.Web/sites in infra/bicep"
    for site in sites:
        for body in site.bodies:
            assert flex_violations(body, app_setting_names) == [], site.symbol


def test_site_config_resources_follow_flex_rules(deployed_resources: list[ResourceBody]) -> None:
    """The same siteConfig rules hold for a separate Microsoft.Web/sites/config `web` resource."""
    configs = [r for r in deployed_resources if r.type == "Microsoft.Web/sites/config"]
    assert configs, "expected the access restrictions of app/api.bicep"
    for config in configs:
        for body in config.bodies:
            allowed = FLEX_SITE_CONFIG_KEYS | FLEX_ACCESS_RESTRICTION_KEYS
            assert site_config_violations(body["properties"], allowed) == [], config.symbol
            assert site_config_violations({"ftpsState": "Disabled"}, allowed)


def test_the_plan_is_flex_consumption(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    plan = template_of(bicep_templates, "main.bicep")["modules"]["appServicePlan"]["config"]["params"]
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}


FLEX_BREAKS = [
    pytest.param({"siteConfig": {"ftpsState": "Disabled"}}, set(), "ftpsState is rejected", id="ftpsState"),
    pytest.param({"siteConfig": {"http20Enabled": True}}, set(), "http20Enabled is set by no Flex", id="http20"),
    pytest.param({"siteConfig": {"alwaysOn": True}}, set(), "alwaysOn must stay false", id="alwaysOn"),
    pytest.param({}, {"FUNCTIONS_WORKER_RUNTIME"}, "FUNCTIONS_WORKER_RUNTIME is rejected", id="worker-runtime"),
    pytest.param({}, {"WEBSITE_RUN_FROM_PACKAGE"}, "WEBSITE_RUN_FROM_PACKAGE is rejected", id="run-from-package"),
    pytest.param(
        {}, {"FUNCTIONS_WORKER_PROCESS_COUNT"}, "FUNCTIONS_WORKER_PROCESS_COUNT is rejected", id="worker-processes"
    ),
]


@pytest.mark.parametrize(("extra_properties", "extra_settings", "message"), FLEX_BREAKS)
def test_flex_rules_catch_rejected_settings(
    deployed_resources: list[ResourceBody],
    app_setting_names: set[str],
    extra_properties: dict[str, Any],
    extra_settings: set[str],
    message: str,
) -> None:
    body = json.loads(json.dumps(_function_apps(deployed_resources)[0].bodies[0]))
    for key, value in extra_properties.items():
        body["properties"].setdefault(key, {}).update(value)
    violations = flex_violations(body, app_setting_names | extra_settings)
    assert any(message in violation for violation in violations), violations


def _azd_validator() -> Draft201909Validator:
    require_arm_schemas()

    def no_download(uri: str) -> Resource[Any]:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # the check stays offline

    schema = json.loads(AZD_SCHEMA.read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry(retrieve=no_download)  # type: ignore[call-arg]
    return Draft201909Validator(schema, registry=registry)


def _azure_yaml() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    return document


def test_azure_yaml_matches_azd_schema() -> None:
    assert [error.message for error in _azd_validator().iter_errors(_azure_yaml())] == []


AZURE_YAML_BREAKS = [
    pytest.param(("hooks", "postprovision", "windows", "shell"), "cmd", id="unknown-shell"),
    pytest.param(("hooks", "postprovision", "windows", "runs"), "x.ps1", id="unknown-hook-key"),
    pytest.param(("hooks", "postprovision", "posix", "interactive"), "yes", id="not-a-boolean"),
]


@pytest.mark.parametrize(("path", "value"), AZURE_YAML_BREAKS)
def test_azd_schema_rejects_broken_azure_yaml(path: tuple[str, ...], value: str) -> None:
    document = _azure_yaml()
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert list(_azd_validator().iter_errors(document))
