"""A request line with raw invalid bytes, sent to the real app on devhost: the one problem+json shape, a 400."""

from __future__ import annotations

import pytest
import requests

from tests.support.e2e_api import DevhostServer
from tests.support.raw_http import exchange

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "raw",
    [b"GET /v1/regions\xff\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"\xffGET /v1/health HTTP/1.1\r\n\r\n"],
    ids=["path", "method"],
)
def test_invalid_bytes_in_the_request_line_are_a_400_problem(devhost_server: DevhostServer, raw: bytes) -> None:
    response = exchange(devhost_server.base_url, raw)
    assert response.status == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    # The app's own problem type, as for every other 400 of the API.
    assert (body["type"], body["title"], body["status"]) == ("urn:eco2mix:problem:bad-request", "Bad Request", 400)
    after = requests.get(f"{devhost_server.base_url}/v1/health", timeout=10)  # the host serves on
    assert after.status_code == 200
