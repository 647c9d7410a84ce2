"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for tests/e2e/test_api_schemathesis.py.

They encode the documented rules that span several fields, which a JSON Schema per parameter cannot state:
end_date not before start_date, the span limits per granularity and per backfill, exactly one of date,
month and year. A generated case that breaks only those is repaired, so the positive-data check tests the rest of the
input; a case made invalid on purpose (negative mode) stays invalid, since only well-formed dates are touched.
Backfills are also kept to a few days: each one really runs on the devhost under test.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import schemathesis

from api.params import MAX_DAY_RANGE_DAYS, MAX_INTERVAL_RANGE_DAYS

_DATE = re.compile(r"20\d{2}-\d{2}-\d{2}")
_SPAN_DAYS = {"30min": MAX_INTERVAL_RANGE_DAYS, "hour": MAX_INTERVAL_RANGE_DAYS, "day": MAX_DAY_RANGE_DAYS}
BACKFILL_DAYS = 3


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _ordered_within(values: dict[str, Any], max_days: int) -> None:
    start, end = _day(values.get("start_date")), _day(values.get("end_date"))
    if start is None or end is None:
        return
    start, end = min(start, end), max(start, end)
    end = min(end, start + timedelta(days=max_days - 1))
    values["start_date"], values["end_date"] = start.isoformat(), end.isoformat()


@schemathesis.hook
def map_query(ctx: Any, query: Any) -> Any:
    if not isinstance(query, dict) or ctx.operation is None:
        return query
    path = ctx.operation.path
    if path == "/v1/production/regional":
        granularity = query.get("granularity") or "hour"
        if granularity in _SPAN_DAYS:
            _ordered_within(query, _SPAN_DAYS[granularity])
    elif path.startswith("/v1/export/"):
        # One period per file: keep the first one given.
        periods = [p for p in ("date", "month", "year") if query.get(p)]
        for extra in periods[1:]:
            del query[extra]
    return query


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    if isinstance(body, dict) and ctx.operation is not None and ctx.operation.path == "/v1/admin/backfills":
        _ordered_within(body, BACKFILL_DAYS)
    return body
