"""The four query shapes, as random request paths over the materialized span (same shapes for on-demand)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from domain.regions import REGIONS

RANGE_DAYS = 31
# One page holds the whole range (31 days × up to 25 hours, or 366 days), like the on-demand answer.
RANGE_LIMIT = 1000


@dataclass(frozen=True)
class Span:
    """The local days with data, first and last included."""

    first: date
    last: date

    @classmethod
    def of_years(cls, years: int, last_year: int) -> Span:
        return cls(date(last_year - years + 1, 1, 1), date(last_year, 12, 31))

    def random_day(self, rng: random.Random, *, room_after: int = 0) -> date:
        """A day such that `room_after` more days still fall inside the span."""
        latest = self.last - timedelta(days=room_after)
        if latest < self.first:
            raise ValueError(f"span {self.first}..{self.last} is shorter than {room_after + 1} days")
        return self.first + timedelta(days=rng.randrange((latest - self.first).days + 1))

    def random_full_year(self, rng: random.Random) -> int:
        years = [
            y
            for y in range(self.first.year, self.last.year + 1)
            if self.first <= date(y, 1, 1) and date(y, 12, 31) <= self.last
        ]
        if not years:
            raise ValueError(f"span {self.first}..{self.last} holds no full year")
        return rng.choice(years)


@dataclass(frozen=True)
class Query:
    """One request of a shape: the region and local days it covers, and its API path."""

    shape: str
    region_code: str
    first_day: date
    last_day: date
    path: str


def _region(rng: random.Random) -> str:
    return rng.choice(REGIONS).code


def point_read(rng: random.Random, span: Span) -> Query:
    region, day = _region(rng), span.random_day(rng)
    return Query("point_read", region, day, day, f"/v1/production/regional/{region}/{day.isoformat()}")


def _range_path(region: str, first: date, last: date, granularity: str) -> str:
    query = {"region_code": region, "start_date": first.isoformat(), "end_date": last.isoformat()}
    return f"/v1/production/regional?{urlencode({**query, 'granularity': granularity, 'limit': RANGE_LIMIT})}"


def range_31d_hourly(rng: random.Random, span: Span) -> Query:
    region, first = _region(rng), span.random_day(rng, room_after=RANGE_DAYS - 1)
    last = first + timedelta(days=RANGE_DAYS - 1)
    return Query("range_31d_hourly", region, first, last, _range_path(region, first, last, "hour"))


def range_1y_daily(rng: random.Random, span: Span) -> Query:
    region, year = _region(rng), span.random_full_year(rng)
    first, last = date(year, 1, 1), date(year, 12, 31)
    return Query("range_1y_daily", region, first, last, _range_path(region, first, last, "day"))


def csv_export(rng: random.Random, span: Span) -> Query:
    region, day = _region(rng), span.random_day(rng)
    query = urlencode({"region_code": region, "date": day.isoformat()})
    return Query("csv_export", region, day, day, f"/v1/export/csv?{query}")


SHAPES = {
    "point_read": (point_read, 200),
    "range_31d_hourly": (range_31d_hourly, 200),
    "range_1y_daily": (range_1y_daily, 200),
    "csv_export": (csv_export, 302),  # a redirect to the signed link, not followed
}
