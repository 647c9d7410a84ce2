from __future__ import annotations

import random
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.shapes import RANGE_DAYS, SHAPES, Span, csv_export, point_read, range_1y_daily, range_31d_hourly
from domain.regions import REGIONS_BY_CODE

SPAN = Span.of_years(2, 2024)


@pytest.mark.parametrize("seed", range(20))
def test_queries_stay_inside_the_span(seed: int) -> None:
    rng = random.Random(seed)
    for build in (point_read, range_31d_hourly, range_1y_daily, csv_export):
        q = build(rng, SPAN)
        assert SPAN.first <= q.first_day <= q.last_day <= SPAN.last
        assert q.region_code in REGIONS_BY_CODE


def test_31_day_range_is_31_days_hourly_in_one_page() -> None:
    q = range_31d_hourly(random.Random(3), SPAN)
    params = parse_qs(urlsplit(q.path).query)
    assert (q.last_day - q.first_day).days == RANGE_DAYS - 1
    assert params["granularity"] == ["hour"] and int(params["limit"][0]) >= 31 * 25


def test_year_query_is_a_full_calendar_year() -> None:
    q = range_1y_daily(random.Random(1), SPAN)
    assert (q.first_day.month, q.first_day.day, q.last_day.month, q.last_day.day) == (1, 1, 12, 31)
    assert "granularity=day" in q.path


def test_expected_statuses() -> None:
    assert {name: status for name, (_, status) in SHAPES.items()} == {
        "point_read": 200,
        "range_31d_hourly": 200,
        "range_1y_daily": 200,
        "csv_export": 302,
    }


@pytest.mark.parametrize(("first", "last"), [(date(2024, 1, 1), date(2024, 1, 10))])
def test_too_short_span_is_refused(first: date, last: date) -> None:
    with pytest.raises(ValueError, match="shorter"):
        range_31d_hourly(random.Random(0), Span(first, last))
    with pytest.raises(ValueError, match="no full year"):
        range_1y_daily(random.Random(0), Span(first, last))
