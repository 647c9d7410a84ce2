from __future__ import annotations

from typing import Any

import pytest

from bench.table import fmt, render


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "-"), (3000, "3,000"), (1234.56, "1,235"), (12.345, "12.35"), (0.01234, "0.0123"), (0.0, "0"), ("x", "x")],
)
def test_fmt(value: Any, expected: str) -> None:
    assert fmt(value) == expected


def test_render_aligns_columns() -> None:
    text = render(["shape", "p50"], [["point_read", 1.5], ["csv", 12345]])
    lines = text.splitlines()
    assert lines[0].startswith("shape") and lines[1].startswith("-----")
    assert lines[2] == "point_read    1.50"
    assert lines[3] == "csv         12,345"
    assert len({len(line) for line in lines}) == 1
