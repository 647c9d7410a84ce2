"""Every .bicep file parses with checkov's parser; modules, loaded files and key properties line up."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.bicep import BICEP, BicepParse, bicep_files, template_of

LOAD_CONTENT = re.compile(r"load(?:Text|Json)Content\('([^']+)'")
AVM_REFERENCE = re.compile(r"'br/public:(avm/[a-z0-9/-]+)(?::([^']*))?'")


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(BICEP)))
def test_bicep_file_parses(bicep_templates: dict[Path, dict[str, Any]], path: Path) -> None:
    result = bicep_templates[path]
    assert result["ok"], result["error"]


BROKEN_CASES = [
    pytest.param("param name strin g\n", id="junk-after-type"),
    pytest.param("resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name:\n}\n", id="missing-value"),
    pytest.param("var tags = {\n  a: 'x'\n", id="unclosed-object"),
]


@pytest.fixture(scope="module")
def broken_results(parse_bicep: BicepParse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """BROKEN_CASES parsed in one run of the parser: {text: result}."""
    directory = tmp_path_factory.mktemp("broken-bicep")
    paths = {}
    for index, case in enumerate(BROKEN_CASES):
        (text,) = case.values
        path = directory / f"case{index}.bicep"
        path.write_text(str(text), encoding="utf-8")
        paths[str(path)] = str(text)
    parsed = parse_bicep(list(paths), None)
    return {paths[name]: result for name, result in parsed.items()}


@pytest.mark.parametrize("text", BROKEN_CASES)
def test_parser_rejects_broken_bicep(broken_results: dict[str, dict[str, Any]], text: str) -> None:
    """The parse check can fail: a syntax error is reported, not silently skipped."""
    result = broken_results[text]
    assert not result["ok"]
    assert result["error"]


def test_parser_reads_stdin(parse_bicep: BicepParse) -> None:
    assert parse_bicep(["-"], "param name string\n")["-"]["template"]["parameters"]["name"]["type"] == "string"


RESOURCE_DECLARATION = re.compile(r"^\s*resource \w+ '", re.MULTILINE)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(BICEP)))
def test_parser_sees_every_resource(bicep_templates: dict[Path, dict[str, Any]], path: Path) -> None:
    """checkov only checks what its parser keeps (it drops all but one nested child `resource`)."""
    declared = len(RESOURCE_DECLARATION.findall(path.read_text(encoding="utf-8")))
    parsed = len(bicep_templates[path]["template"].get("resources", {}))
    assert parsed == declared


def _local_modules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: module for name, module in template.get("modules", {}).items() if module["type"] == "local"}


def test_local_modules_exist_and_get_exactly_their_parameters(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    checked = 0
    for path, result in bicep_templates.items():
        for name, module in _local_modules(result["template"]).items():
            target = (path.parent / module["detail"]["path"]).resolve()
            assert target in bicep_templates, f"{path.name}: module {name} -> missing {target}"
            declared = bicep_templates[target]["template"].get("parameters", {})
            required = {param for param, spec in declared.items() if spec.get("default") is None}
            config = module["config"]
            config = config.get("config", config)  # `= if (condition) {...}` nests the body one level down
            passed = set(config.get("params", {}))
            assert passed <= set(declared), f"{name}: unknown params {passed - set(declared)}"
            assert required <= passed, f"{name}: missing params {required - passed}"
            checked += 1
    assert checked >= 6


def test_loaded_files_exist() -> None:
    for path in bicep_files():
        for relative in LOAD_CONTENT.findall(path.read_text(encoding="utf-8")):
            assert (path.parent / relative).is_file(), f"{path.name}: {relative}"


def test_verified_modules_are_pinned() -> None:
    references = [match for path in bicep_files() for match in AVM_REFERENCE.findall(path.read_text("utf-8"))]
    assert references, "expected Azure Verified Modules (br/public:avm/...)"
    for module, version in references:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{module} is not pinned to an exact version: {version!r}"


def _dig(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _resource(templates: dict[Path, dict[str, Any]], relative: str, name: str) -> dict[str, Any]:
    config: dict[str, Any] = template_of(templates, relative)["resources"][name]["config"]
    return config


# (file, resource, property path, expected): the promises the deployment makes, read from the parse tree.
PROPERTY_CASES = [
    ("core/storage.bicep", "storage", "properties.allowSharedKeyAccess", False),
    ("core/storage.bicep", "storage", "properties.allowBlobPublicAccess", False),
    ("core/storage.bicep", "storage", "properties.minimumTlsVersion", "TLS1_2"),
    ("core/storage.bicep", "storage", "properties.supportsHttpsTrafficOnly", True),
    ("core/cosmos.bicep", "account", "properties.disableLocalAuth", True),
    ("core/cosmos.bicep", "account", "properties.disableKeyBasedMetadataWriteAccess", True),
    ("core/cosmos.bicep", "container", "properties.resource.partitionKey.paths.0", "/region_code"),
    ("core/cosmos.bicep", "container", "properties.resource.indexingPolicy.excludedPaths.3.path", "/*"),
    ("core/monitoring.bicep", "appInsights", "properties.DisableLocalAuth", True),
    ("app/api.bicep", "functionApp", "kind", "functionapp,linux"),
    ("app/api.bicep", "functionApp", "properties.httpsOnly", True),
    ("app/api.bicep", "functionApp", "properties.functionAppConfig.runtime.name", "python"),
    ("app/api.bicep", "functionApp", "properties.functionAppConfig.runtime.version", "3.11"),
    (
        "app/api.bicep",
        "functionApp",
        "properties.functionAppConfig.deployment.storage.authentication.type",
        "UserAssignedIdentity",
    ),
    ("app/api.bicep", "functionApp", "identity.type", "UserAssigned"),
    ("app/api.bicep", "functionApp", "properties.siteConfig.minTlsVersion", "1.2"),
]


@pytest.mark.parametrize(("relative", "resource", "path", "expected"), PROPERTY_CASES)
def test_resource_property(
    bicep_templates: dict[Path, dict[str, Any]], relative: str, resource: str, path: str, expected: Any
) -> None:
    assert _dig(_resource(bicep_templates, relative, resource), path) == expected


def test_cosmos_indexes_only_queried_paths(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    policy = _dig(_resource(bicep_templates, "core/cosmos.bicep", "container"), "properties.resource.indexingPolicy")
    included = {entry["path"] for entry in policy["includedPaths"]}
    excluded = {entry["path"] for entry in policy["excludedPaths"]}
    assert included == {"/doc_type/?", "/key/?", "/id/?", "/region_code/?"}
    # Equality filters first, then the ORDER BY property (range query of documents_cosmos.py).
    assert [entry["path"] for entry in policy["compositeIndexes"][0]] == ["/region_code", "/doc_type", "/key"]
    assert {"/intervals/*", "/hourly/*", "/days/*", "/*"} <= excluded


def test_main_parameter_defaults(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    params = template_of(bicep_templates, "main.bicep")["parameters"]
    assert params["alwaysReadyInstances"]["default"] == 0
    assert params["cosmosServerless"]["default"] is True
    assert params["deployApim"]["default"] is False
    assert "instanceMemoryMB" in params


def test_rbac_grants_every_data_role(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    roles = template_of(bicep_templates, "app/rbac.bicep")["variables"]["roles"]["value"]
    assert set(roles) >= {
        "storageBlobDataOwner",
        "storageQueueDataContributor",
        "storageTableDataContributor",
        "storageBlobDelegator",
        "monitoringMetricsPublisher",
    }
    resources = template_of(bicep_templates, "app/rbac.bicep")["resources"]
    types = {resource["type"] for resource in resources.values()}
    assert "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments" in types
    # One file holds the assignments: no other template creates any.
    for path, result in bicep_templates.items():
        if path.name != "rbac.bicep":
            other_types = {resource["type"] for resource in result["template"].get("resources", {}).values()}
            assert not {t for t in other_types if t.endswith("roleAssignments") or t.endswith("RoleAssignments")}


def test_apim_policy_limits_per_api_key_with_retry_after() -> None:
    policy = (BICEP / "app" / "apim-policy.xml").read_text(encoding="utf-8")
    assert "<rate-limit-by-key" in policy
    assert "X-API-Key" in policy
    assert 'retry-after-header-name="Retry-After"' in policy
    assert "__CALLS_PER_MINUTE__" in policy  # placeholder app/apim.bicep replaces
    assert "__CALLS_PER_MINUTE__" in (BICEP / "app" / "apim.bicep").read_text(encoding="utf-8")


def test_parameters_file_feeds_declared_parameters(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    declared = template_of(bicep_templates, "main.bicep")["parameters"]
    values = json.loads((BICEP / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(values) <= set(declared), f"not in main.bicep: {set(values) - set(declared)}"
    required = {name for name, spec in declared.items() if spec.get("default") is None}
    assert required <= set(values), f"no value for required parameters: {required - set(values)}"


AZD_VALUE = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)(?:=(.*))?\}$")


def test_every_parameter_can_be_set_with_azd_env_set(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    """Each parameter maps to one `${VAR=default}` of main.parameters.json whose default is Bicep's."""
    declared = template_of(bicep_templates, "main.bicep")["parameters"]
    values = json.loads((BICEP / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(values) == set(declared)
    for name, spec in declared.items():
        match = AZD_VALUE.match(values[name]["value"])
        assert match, f"{name}: {values[name]['value']!r} is not ${{VAR}} or ${{VAR=default}}"
        if spec.get("default") is not None:
            default = spec["default"]
            text = str(default).lower() if isinstance(default, bool) else str(default)
            assert match.group(2) == text, f"{name}: parameters file default {match.group(2)!r}, Bicep {text!r}"


def test_developer_principal_type_comes_from_azd(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    """A service principal running `azd up` (CI) gets ServicePrincipal assignments, not 'User'."""
    values = json.loads((BICEP / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["principalType"]["value"] == "${AZURE_PRINCIPAL_TYPE=User}"
    main = template_of(bicep_templates, "main.bicep")
    assert main["modules"]["rbac"]["config"]["params"]["developerPrincipalType"] == "principalType"
    resources = template_of(bicep_templates, "app/rbac.bicep")["resources"]
    assert _dig(resources["developerStorage"]["config"], "config.properties.principalType") == "developerPrincipalType"


def test_api_waits_for_its_role_assignments(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    api = template_of(bicep_templates, "main.bicep")["modules"]["api"]["config"]
    assert "rbac" in api.get("dependsOn", [])


def test_location_is_limited_to_flex_consumption_regions(bicep_templates: dict[Path, dict[str, Any]]) -> None:
    decorators = template_of(bicep_templates, "main.bicep")["parameters"]["location"]["decorators"]
    (allowed,) = [decorator["argument"] for decorator in decorators if decorator["type"] == "allowed"]
    assert {"francecentral", "westeurope", "northeurope", "eastus"} <= set(allowed)
    # Regions without Flex Consumption (and canary regions) are refused before anything is created.
    assert not {"francesouth", "westindia", "eastus2euap"} & set(allowed)
