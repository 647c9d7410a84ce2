"""API Management: the rate limit counts per credential the app accepted (never per raw header value), and
with the gateway deployed the Function App admits only the gateway's subnet."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from api.http import ALL_METHODS
from tests.support.bicep import BICEP, template_of

Templates = dict[Path, dict[str, Any]]
POLICY = BICEP / "app" / "apim-policy.xml"


@pytest.fixture(scope="module")
def inbound() -> ElementTree.Element:
    root = ElementTree.parse(POLICY).getroot()
    element = root.find("inbound")
    assert element is not None
    return element


def _limits(inbound: ElementTree.Element) -> list[dict[str, str]]:
    return [dict(element.attrib) for element in inbound.findall("rate-limit-by-key")]


def test_rejected_credentials_count_against_the_client_ip(inbound: ElementTree.Element) -> None:
    """A made-up key per request gets no fresh counter: the app's 401/403 answers count per client IP."""
    rejected = _limits(inbound)[0]
    assert rejected["counter-key"] == '@("rejected:" + context.Request.IpAddress)'
    condition = rejected["increment-condition"]
    assert "StatusCode == 401" in condition and "StatusCode == 403" in condition


def test_accepted_credentials_have_their_own_counter(inbound: ElementTree.Element) -> None:
    accepted = _limits(inbound)[1]
    assert accepted["counter-key"] == '@((string)context.Variables["credential"])'
    # Only requests the app accepted move a credential's counter.
    condition = accepted["increment-condition"]
    assert "StatusCode != 401" in condition and "StatusCode != 403" in condition
    assert accepted["retry-after-header-name"] == "Retry-After"
    (variable,) = [e for e in inbound.findall("set-variable") if e.attrib["name"] == "credential"]
    expression = variable.attrib["value"]
    for source in ('"X-API-Key"', '"Authorization"', "AsJwt()", "jwt.Subject", "context.Request.IpAddress"):
        assert source in expression


def test_the_limits_come_before_the_backend(inbound: ElementTree.Element) -> None:
    tags = [element.tag for element in inbound]
    assert tags.index("set-variable") < tags.index("rate-limit-by-key")
    assert len(_limits(inbound)) == 2


def test_function_app_admits_only_the_gateway_subnet(bicep_templates: Templates) -> None:
    resource = template_of(bicep_templates, "app/api.bicep")["resources"]["accessRestrictions"]
    assert resource["type"] == "Microsoft.Web/sites/config"
    config = resource["config"]
    assert config["condition"]["operator"]["type"] == "not"  # only with API Management deployed
    body = config["config"]
    assert body["name"] == "web"
    (rule,) = body["properties"]["ipSecurityRestrictions"]
    assert (rule["action"], rule["vnetSubnetResourceId"]) == ("Allow", "apimSubnetId")
    assert body["properties"]["ipSecurityRestrictionsDefaultAction"] == "Deny"


def test_gateway_and_app_use_the_same_subnet(bicep_templates: Templates) -> None:
    main = template_of(bicep_templates, "main.bicep")
    api_subnet = main["modules"]["api"]["config"]["params"]["apimSubnetId"]["operator"]
    assert api_subnet["type"] == "conditional"
    assert api_subnet["operands"]["condition"] == "deployApim"
    apim_module = main["modules"]["apim"]["config"]
    apim_subnet = apim_module.get("config", apim_module)["params"]["subnetId"]
    assert api_subnet["operands"]["true_value"] == apim_subnet
    apim = template_of(bicep_templates, "app/apim.bicep")["resources"]["apim"]["config"]["properties"]
    assert apim["virtualNetworkType"] == "External"
    assert apim["virtualNetworkConfiguration"] == {"subnetResourceId": "subnetId"}


def test_gateway_subnet_carries_the_web_service_endpoint(bicep_templates: Templates) -> None:
    vnet = template_of(bicep_templates, "core/network.bicep")["resources"]["vnet"]["config"]
    subnets = {subnet["name"]: subnet["properties"] for subnet in vnet["properties"]["subnets"]}
    apim = subnets["apim"]
    # Without the service endpoint, the app sees the gateway's public SNAT address, not the subnet.
    assert [endpoint["service"] for endpoint in apim["serviceEndpoints"]] == ["Microsoft.Web"]
    assert [d["properties"]["serviceName"] for d in apim["delegations"]] == ["Microsoft.Web/serverFarms"]


def test_only_a_tier_with_vnet_integration_is_offered(bicep_templates: Templates) -> None:
    decorators = template_of(bicep_templates, "main.bicep")["parameters"]["apimSku"]["decorators"]
    (allowed,) = [decorator["argument"] for decorator in decorators if decorator["type"] == "allowed"]
    assert allowed == ["StandardV2"]


def test_gateway_forwards_every_method_the_app_routes(bicep_templates: Templates) -> None:
    """HEAD and OPTIONS too: without an operation the gateway answers 404 itself, so a browser's CORS preflight
    never reaches the app's own CORS rule (api/http.py answers OPTIONS) and HEAD probes fail."""
    apim = template_of(bicep_templates, "app/apim.bicep")
    methods = apim["variables"]["methods"]["value"]
    assert sorted(methods) == sorted(ALL_METHODS)
    operations = apim["resources"]["operations"]
    assert operations["type"] == "Microsoft.ApiManagement/service/apis/operations"
    loop = operations["config"]
    assert loop["loop_type"]["detail"] == {"item_name": "method", "array_name": "methods"}  # one per method
    assert loop["condition"] is None
    properties = loop["config"]["properties"]
    assert (properties["method"], properties["urlTemplate"]) == ("method", "/*")  # every path, unchanged


def test_links_name_the_gateway_when_it_is_deployed(bicep_templates: Templates) -> None:
    main = template_of(bicep_templates, "main.bicep")
    variables = main["variables"]
    url = variables["appSettings"]["value"]["API_PUBLIC_URL"]["operator"]
    assert url["type"] == "conditional" and url["operands"]["condition"] == "deployApim"
    assert (url["operands"]["true_value"], url["operands"]["false_value"]) == ("gatewayUrl", "functionAppUrl")
    # The very name the gateway gets (app/apim.bicep's `name` parameter), with the API's empty path.
    gateway_name = "${abbrs.apiManagementService}${resourceToken}"
    assert variables["gatewayUrl"]["value"] == f"https://{gateway_name}.azure-api.net"
    apim_module = main["modules"]["apim"]["config"]
    assert apim_module.get("config", apim_module)["params"]["name"] == gateway_name
    api = template_of(bicep_templates, "app/apim.bicep")["resources"]["api"]["config"]["properties"]
    assert api["path"] == ""
    hops = variables["appSettings"]["value"]["TRUSTED_PROXY_HOPS"]["operator"]
    assert (hops["operands"]["condition"], hops["operands"]["true_value"]) == ("deployApim", "1")
