"""The one read of an internal of azure-functions-durable (pinned in requirements.txt).

The run list pages through the Durable extension's HTTP API with its continuation token, which the SDK's
`get_status_by` hides (it follows every page); the extension's URL for that is the client binding's
`rpcBaseUrl`, which the SDK keeps on its bindings object and exposes through no public attribute or method.
tests/unit/api/test_durable_sdk.py fails when the SDK moves it.
"""

from __future__ import annotations

from typing import Any


def rpc_base_url(client: Any) -> str:
    """The durable client binding's rpcBaseUrl (the extension's HTTP API of this invocation)."""
    bindings = getattr(client, "_orchestration_bindings", None)
    url = getattr(bindings, "rpc_base_url", None)
    if not isinstance(url, str) or not url:
        raise RuntimeError("the durable client binding has no rpcBaseUrl")
    return url
