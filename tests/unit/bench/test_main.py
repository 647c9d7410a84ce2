"""`python -m bench` options: --only picks the stages after the backfill, --shapes the query shapes."""

from __future__ import annotations

import pytest

from bench.__main__ import parse_args
from bench.run import STAGES


def test_without_only_every_stage_runs_with_every_shape() -> None:
    opts = parse_args([])
    assert all(opts.wants(stage) for stage in STAGES)
    assert opts.shapes == ["point_read", "range_31d_hourly", "range_1y_daily", "csv_export"]
    assert opts.growth == [1, 3, 10]


def test_only_floor_and_point_cells() -> None:
    opts = parse_args(["--only", "floor,api", "--shapes", "point_read"])
    assert [stage for stage in STAGES if opts.wants(stage)] == ["api", "floor"]
    assert opts.shapes == ["point_read"] and opts.growth == []


@pytest.mark.parametrize("argv", [["--only", "floor,nope"], ["--only", ""], ["--shapes", "point"]])
def test_unknown_stages_and_shapes_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
