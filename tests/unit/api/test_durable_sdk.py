"""api/durable_sdk.py reads an internal of azure-functions-durable: this fails when the SDK moves it."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import azure.durable_functions as df
import pytest

from api.durable_sdk import rpc_base_url

REQUIREMENTS = Path(__file__).resolve().parents[3] / "requirements.txt"


def binding(rpc: str | None) -> str:
    hook = "http://127.0.0.1:7071/runtime/webhooks/durabletask"
    return json.dumps(
        {
            "taskHubName": "hub",
            "creationUrls": {},
            "managementUrls": {"id": "INSTANCEID"},
            "baseUrl": hook,
            "requiredQueryStringParameters": "code=x",
            "rpcBaseUrl": rpc,
            "httpBaseUrl": hook,
        }
    )


def test_the_rpc_base_url_of_a_client_built_from_its_binding() -> None:
    url = "http://127.0.0.1:17071/durabletask/"
    assert rpc_base_url(df.DurableOrchestrationClient(binding(url))) == url


def test_a_binding_without_one_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="rpcBaseUrl"):
        rpc_base_url(df.DurableOrchestrationClient(binding(None)))


def test_the_sdk_is_the_pinned_version() -> None:
    """The adapter was checked against this version: an upgrade runs the tests above against the new one."""
    pinned = re.search(r"^azure-functions-durable==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned is not None and version("azure-functions-durable") == pinned.group(1)
