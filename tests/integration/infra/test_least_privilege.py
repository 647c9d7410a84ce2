"""Network and identity least privilege of infra/bicep, read from the parse tree: the data stores accept only
private endpoints, each identity role sits on the narrowest scope, the exports live in their own account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.bicep import template_of

Templates = dict[Path, dict[str, Any]]


def _config(templates: Templates, relative: str, resource: str) -> dict[str, Any]:
    config: dict[str, Any] = template_of(templates, relative)["resources"][resource]["config"]
    while "config" in config and ("loop_type" in config or "condition" in config):
        config = config["config"]
    return config


def _module(templates: Templates, name: str) -> dict[str, Any]:
    config: dict[str, Any] = template_of(templates, "main.bicep")["modules"][name]["config"]
    return config


def _module_source(templates: Templates, name: str) -> str:
    source: str = template_of(templates, "main.bicep")["modules"][name]["detail"]["path"]
    return source


# (file, resource, property, value): nothing of these answers on the internet.
PRIVATE_CASES = [
    ("core/storage.bicep", "storage", "publicNetworkAccess", "Disabled"),
    ("core/cosmos.bicep", "account", "publicNetworkAccess", "Disabled"),
    ("core/monitoring.bicep", "appInsights", "publicNetworkAccessForQuery", "Disabled"),
]


@pytest.mark.parametrize(("relative", "resource", "prop", "expected"), PRIVATE_CASES)
def test_data_planes_are_not_public(
    bicep_templates: Templates, relative: str, resource: str, prop: str, expected: str
) -> None:
    assert _config(bicep_templates, relative, resource)["properties"][prop] == expected


def test_private_storage_firewall_denies_by_default(bicep_templates: Templates) -> None:
    assert _config(bicep_templates, "core/storage.bicep", "storage")["properties"]["networkAcls"]["defaultAction"] == (
        "Deny"
    )


def test_host_and_deployment_storage_are_the_private_module(bicep_templates: Templates) -> None:
    assert _module_source(bicep_templates, "storage") == "core/storage.bicep"
    assert _module_source(bicep_templates, "deploymentStorage") == "core/storage.bicep"
    assert _module_source(bicep_templates, "exportsStorage") == "core/exports-storage.bicep"


def test_function_app_reaches_them_through_its_vnet(bicep_templates: Templates) -> None:
    site = _config(bicep_templates, "app/api.bicep", "functionApp")
    assert site["properties"]["virtualNetworkSubnetId"] == "virtualNetworkSubnetId"
    api = _module(bicep_templates, "api")
    assert api["params"]["virtualNetworkSubnetId"]["operator"]["operands"]["operand_1"] == "network"
    vnet = _config(bicep_templates, "core/network.bicep", "vnet")
    subnets = {subnet["name"]: subnet["properties"] for subnet in vnet["properties"]["subnets"]}
    # Flex Consumption integrates only with a subnet delegated to Microsoft.App/environments.
    assert [d["properties"]["serviceName"] for d in subnets["app"]["delegations"]] == ["Microsoft.App/environments"]
    assert "private-endpoints" in subnets


# (module, target module, group ids, DNS zone prefixes): every private service has its endpoints, each
# registered in the zone that resolves that endpoint's host name.
ENDPOINT_CASES = [
    (
        "storageEndpoints",
        "storage",
        ["blob", "queue", "table"],
        ["privatelink.blob.", "privatelink.queue.", "privatelink.table."],
    ),
    ("deploymentStorageEndpoints", "deploymentStorage", ["blob"], ["privatelink.blob."]),
    ("cosmosEndpoints", "cosmos", ["Sql"], ["privatelink.documents.azure.com"]),
]


@pytest.mark.parametrize(("module", "target", "group_ids", "zones"), ENDPOINT_CASES)
def test_private_endpoints_cover_every_private_service(
    bicep_templates: Templates, module: str, target: str, group_ids: list[str], zones: list[str]
) -> None:
    main = template_of(bicep_templates, "main.bicep")
    params = _module(bicep_templates, module)["params"]
    assert _module_source(bicep_templates, module) == "core/private-endpoint.bicep"
    assert params["targetId"]["operator"]["operands"]["operand_1"] == target
    assert params["groupIds"] == group_ids
    zone_names = main["variables"]["privateDnsZoneNames"]["value"]
    # network.outputs.dnsZoneIds[i], as pycep nests it
    accessors = [
        zone["operator"]["operands"]["operand_2"]["operator"]["operands"]["operand_2"]
        for zone in params["privateDnsZoneIds"]
    ]
    assert {accessor["operator"]["operands"]["operand_1"] for accessor in accessors} == {"dnsZoneIds"}
    indexes = [accessor["operator"]["operands"]["operand_2"] for accessor in accessors]
    for index, prefix in zip(indexes, zones, strict=True):
        assert zone_names[index].startswith(prefix), (index, zone_names[index])
    # The app starts only once it can reach the service.
    assert module in _module(bicep_templates, "api")["dependsOn"]


def _identity_assignments(templates: Templates) -> dict[str, tuple[str, Any]]:
    """rbac.bicep's role assignments of the app identity: resource -> (scope symbol, role reference)."""
    assignments = {}
    for name, resource in template_of(templates, "app/rbac.bicep")["resources"].items():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = _config(templates, "app/rbac.bicep", name)
        if config["properties"]["principalId"] != "identityPrincipalId":
            continue
        role = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        role_name = role["operator"]["operands"]["operand_2"] if isinstance(role, dict) else role
        assignments[name] = (config["scope"], role_name)
    return assignments


def test_identity_roles_sit_on_the_narrowest_scope(bicep_templates: Templates) -> None:
    assert _identity_assignments(bicep_templates) == {
        "identityHostStorage": ("hostStorage", "roleId"),
        "identityDeploymentContainer": ("deploymentContainer", "storageBlobDataContributor"),
        "identityExportsContainer": ("exportsContainer", "storageBlobDataContributor"),
        "identityExportsDelegator": ("exportsStorage", "storageBlobDelegator"),
        "identityMetrics": ("appInsights", "monitoringMetricsPublisher"),
    }
    # The account-wide roles are the host's own (its containers, queues, tables), on an account that holds
    # neither the package nor the exports.
    host_roles = template_of(bicep_templates, "app/rbac.bicep")["variables"]["identityHostStorageRoles"]["value"]
    assert [role["operator"]["operands"]["operand_2"] for role in host_roles] == [
        "storageBlobDataOwner",
        "storageQueueDataContributor",
        "storageTableDataContributor",
    ]
    assert "containerNames" not in _module(bicep_templates, "storage")["params"]
    rbac = _module(bicep_templates, "rbac")["params"]
    assert rbac["hostStorageAccountName"]["operator"]["operands"]["operand_1"] == "storage"
    assert rbac["deploymentStorageAccountName"]["operator"]["operands"]["operand_1"] == "deploymentStorage"
    assert rbac["exportsStorageAccountName"]["operator"]["operands"]["operand_1"] == "exportsStorage"


def test_container_scopes_are_the_real_containers(bicep_templates: Templates) -> None:
    resources = template_of(bicep_templates, "app/rbac.bicep")["resources"]
    for name, parent, container in (
        ("deploymentContainer", "deploymentBlobs", "deploymentContainerName"),
        ("exportsContainer", "exportsBlobs", "exportsContainerName"),
    ):
        assert resources[name]["type"] == "Microsoft.Storage/storageAccounts/blobServices/containers"
        assert resources[name]["config"] == {"parent": parent, "name": container}


def test_exports_are_served_from_their_own_account(bicep_templates: Templates) -> None:
    main = template_of(bicep_templates, "main.bicep")
    url = main["variables"]["appSettings"]["value"]["BLOB_ACCOUNT_URL"]
    assert url["operator"]["operands"]["operand_1"] == "exportsStorage"
    site = _config(bicep_templates, "app/api.bicep", "functionApp")
    package = site["properties"]["functionAppConfig"]["deployment"]["storage"]["value"]
    assert package.startswith("${deploymentStorage.")
    assert _module(bicep_templates, "api")["params"]["deploymentStorageAccountName"]["operator"]["operands"][
        "operand_1"
    ] == ("deploymentStorage")


def test_exports_container_answers_browser_downloads(bicep_templates: Templates) -> None:
    """CORS on the exports' blob service, so a page can `fetch` a download link."""
    blob = _config(bicep_templates, "core/exports-storage.bicep", "blobServices")
    (rule,) = blob["properties"]["cors"]["corsRules"]
    assert set(rule["allowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
    assert "Content-Disposition" in rule["exposedHeaders"]
    assert rule["allowedOrigins"] == "corsAllowedOrigins"
    assert _module(bicep_templates, "exportsStorage")["params"]["corsAllowedOrigins"] == "exportsCorsOrigins"
    # The app's own pages (direct and through the gateway) stay allowed when CORS_ALLOWED_ORIGINS is set.
    main = template_of(bicep_templates, "main.bicep")
    variables = main["variables"]
    self_origins = [
        variables.get(o, {}).get("value", o) if isinstance(o, str) else o for o in variables["selfOrigins"]["value"]
    ]
    assert [origin.rsplit("}.", 1)[1] for origin in self_origins] == ["azurewebsites.net", "azure-api.net"]
    origins = main["variables"]["exportsCorsOrigins"]["value"]["operator"]["operands"]
    assert origins["true_value"] == ["*"]
    assert origins["false_value"]["function"]["type"] == "union"


def test_private_storage_has_no_cors(bicep_templates: Templates) -> None:
    """CORS `*` on the private (host and package) account: no browser reads it, so no rule at all."""
    blob = _config(bicep_templates, "core/storage.bicep", "blobServices")
    assert "cors" not in blob["properties"]


@pytest.mark.parametrize("policy", ["scmBasicAuth", "ftpBasicAuth"])
def test_scm_basic_auth_publishing_credentials_are_disabled(bicep_templates: Templates, policy: str) -> None:
    resource = template_of(bicep_templates, "app/api.bicep")["resources"][policy]
    assert resource["type"] == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    config = _config(bicep_templates, "app/api.bicep", policy)
    assert config["parent"] == "functionApp"
    assert (config["name"], config["properties"]["allow"]) == (policy.removesuffix("BasicAuth"), False)


@pytest.mark.parametrize("assignment", ["identityCosmos", "developerCosmos"])
def test_cosmos_data_role_is_scoped_to_the_database(bicep_templates: Templates, assignment: str) -> None:
    rbac = template_of(bicep_templates, "app/rbac.bicep")
    assert _config(bicep_templates, "app/rbac.bicep", assignment)["properties"]["scope"] == "cosmosDatabaseScope"
    assert rbac["variables"]["cosmosDatabaseScope"]["value"] == "${cosmos.id}/dbs/${cosmosDatabaseName}"
    assert _module(bicep_templates, "rbac")["params"]["cosmosDatabaseName"] == "cosmosDatabaseName"


NSG_ID = {"operand_1": "nsg", "operand_2": "id"}  # `nsg.id`, as pycep nests it


def test_webhook_deliveries_may_leave_the_vnet_by_https_only(bicep_templates: Templates) -> None:
    """Issue 26: the delivery activities POST to subscribers' public HTTPS endpoints from the app subnet."""
    nsg = _config(bicep_templates, "core/network.bicep", "nsg")
    (rule,) = nsg["properties"]["securityRules"]
    props = rule["properties"]
    assert (props["direction"], props["access"], props["protocol"]) == ("Outbound", "Allow", "Tcp")
    assert (props["sourceAddressPrefix"], props["destinationAddressPrefix"]) == ("VirtualNetwork", "Internet")
    assert props["destinationPortRange"] == "443"


def test_nsg_on_every_subnet(bicep_templates: Templates) -> None:
    network = template_of(bicep_templates, "core/network.bicep")
    assert network["resources"]["nsg"]["type"] == "Microsoft.Network/networkSecurityGroups"
    vnet = _config(bicep_templates, "core/network.bicep", "vnet")
    subnets = {subnet["name"]: subnet["properties"] for subnet in vnet["properties"]["subnets"]}
    assert set(subnets) == {"app", "private-endpoints", "apim"}
    for name, properties in subnets.items():
        nsg_id = properties.get("networkSecurityGroup", {}).get("id")
        assert nsg_id == {
            "operator": {"type": "property_accessor", "operands": {"operand_1": "nsg", "operand_2": "id"}}
        }, name
