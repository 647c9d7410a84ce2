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
            stand_in_api.base_url, "key", "/v1/x", concurrency=2, duration_s=0.3, rounds=3, client="aiohttp"
        )
    assert result["body_bytes"] == len(body) and result["errors"] == 0
    api, floor = result["cells"]["api"], result["cells"]["floor"]
    assert len(api) == len(floor) == 3
    assert result["api_req_per_s"] > 0 and result["floor_req_per_s"] > 0
    # The ratio is the median of each round's own: API cell over the floor cell of the same round.
    per_round = [a["req_per_s"] / f["req_per_s"] for a, f in zip(api, floor, strict=True)]
    assert result["api_to_floor_per_round"] == [round(r, 3) for r in per_round]
    assert result["api_to_floor"] == round(sorted(per_round)[1], 3)
    assert result["api_to_floor_of_medians"] == round(result["api_req_per_s"] / result["floor_req_per_s"], 3)
