"""The floor server answers the API's bytes as they are; floor_cells alternates both sides and gives the ratio."""

from __future__ import annotations

import urllib.request

from bench.floor import FloorServer, floor_cells


def test_the_floor_server_answers_the_same_bytes_on_every_path() -> None:
    body = b'{"region_code":"11","intervals":[' + b"1.5," * 5000 + b"2]}"
    with FloorServer(body) as server:
        for path in ("/", "/v1/production/regional/11/2024-03-31?x=1"):
            with urllib.request.urlopen(server.base_url + path, timeout=10) as resp:
                assert resp.read() == body
                assert resp.headers["Content-Type"].startswith("application/json")


def test_floor_cells_measure_both_sides_with_the_fetched_bytes() -> None:
    body = b'{"day":"2024-03-31"}'
    with FloorServer(body) as stand_in_api:  # a second floor stands in for the API: both sides measurable
        result = floor_cells(
            stand_in_api.base_url, "key", "/v1/x", concurrency=2, duration_s=0.3, rounds=2, client="aiohttp"
        )
    assert result["body_bytes"] == len(body) and result["errors"] == 0
    assert len(result["cells"]["api"]) == len(result["cells"]["floor"]) == 2
    assert result["api_req_per_s"] > 0 and result["floor_req_per_s"] > 0
    assert result["api_to_floor"] == round(result["api_req_per_s"] / result["floor_req_per_s"], 3)
