"""The printed tables: each floor cell (point read and range pages) gets its API / bare aiohttp row."""

from __future__ import annotations

from typing import Any

from bench.report import summary


def floor_cell(api: float, bare: float, body_bytes: int) -> dict[str, Any]:
    return {
        "concurrency": 16,
        "body_bytes": body_bytes,
        "api_req_per_s": api,
        "floor_req_per_s": bare,
        "api_to_floor": round(api / bare, 3),
        "api_p99_ms": 9.5,
        "floor_p99_ms": 8.25,
    }


def test_range_floor_cells_get_their_rows() -> None:
    results = {
        "floor": floor_cell(5000, 17000, 27324),
        "floor_ranges": {"range_31d_hourly": floor_cell(1500, 2000, 326001)},
    }
    lines = summary(results).splitlines()
    point = next(line for line in lines if line.startswith("point read c=16 (27324 B)"))
    ranged = next(line for line in lines if line.startswith("range_31d_hourly c=16 (326001 B)"))
    assert "5000 / 17000 req/s" in point and point.rstrip().endswith("0.294")
    assert "1500 / 2000 req/s" in ranged and ranged.rstrip().endswith("0.75")
    assert sum("9.5 / 8.25 ms" in line for line in lines) == 2
