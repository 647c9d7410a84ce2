"""Query/body validation: every bad input becomes a 400/404 naming the parameter, never a 500."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.http import ApiError
from api.params import (
    BackfillRequest,
    DayPath,
    ExportQuery,
    RangeQuery,
    check_span,
    parse,
    parse_day_path,
    require_region,
)

GOOD = {"start_date": "2024-01-01", "end_date": "2024-01-31"}


@pytest.mark.parametrize(
    ("params", "bad_parameter"),
    [
        ({}, "start_date"),
        ({"end_date": "2024-01-01"}, "start_date"),
        ({**GOOD, "start_date": "2024-02-30"}, "start_date"),
        ({**GOOD, "start_date": "2024-1-1"}, "start_date"),
        ({**GOOD, "start_date": "2024-01-01T00:00:00"}, "start_date"),
        ({**GOOD, "start_date": "1704067200"}, "start_date"),
        ({**GOOD, "start_date": "1999-12-31"}, "start_date"),
        ({**GOOD, "end_date": "tomorrow"}, "end_date"),
        ({**GOOD, "granularity": "minute"}, "granularity"),
        ({**GOOD, "source_type": "charbon"}, "source_type"),
        ({**GOOD, "limit": "0"}, "limit"),
        ({**GOOD, "limit": "5001"}, "limit"),
        ({**GOOD, "limit": "ten"}, "limit"),
        ({**GOOD, "offset": "-1"}, "offset"),
        ({**GOOD, "colour": "blue"}, "colour"),
    ],
)
def test_range_query_rejections(params: dict[str, str], bad_parameter: str) -> None:
    with pytest.raises(ApiError) as err:
        parse(RangeQuery, params)
    assert err.value.status == 400
    assert bad_parameter in {e.parameter for e in err.value.errors}
    assert bad_parameter in err.value.detail


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        (GOOD, "granularity", "hour"),
        (GOOD, "limit", 500),
        (GOOD, "offset", 0),
        ({**GOOD, "region_code": ""}, "region_code", None),  # empty = absent
        ({**GOOD, "granularity": "30min"}, "granularity", "30min"),
        ({**GOOD, "source_type": "eolien"}, "source_type", "eolien"),
        ({**GOOD, "limit": "5000"}, "limit", 5000),
        (GOOD, "start_date", date(2024, 1, 1)),
    ],
)
def test_range_query_accepts_and_defaults(params: dict[str, str], field: str, value: Any) -> None:
    assert getattr(parse(RangeQuery, params), field) == value


@pytest.mark.parametrize(
    ("start", "end", "max_days", "status"),
    [
        ("2024-01-01", "2024-01-31", 31, None),
        ("2024-01-01", "2024-02-01", 31, 400),
        ("2024-01-02", "2024-01-01", 31, 400),
    ],
)
def test_check_span(start: str, end: str, max_days: int, status: int | None) -> None:
    if status is None:
        check_span(date.fromisoformat(start), date.fromisoformat(end), max_days, "here")
        return
    with pytest.raises(ApiError) as err:
        check_span(date.fromisoformat(start), date.fromisoformat(end), max_days, "here")
    assert err.value.status == status


def test_span_error_states_the_limit() -> None:
    with pytest.raises(ApiError) as err:
        check_span(date(2024, 1, 1), date(2024, 3, 1), 31, "with granularity=hour")
    assert "31 days" in err.value.detail and "61 days" in err.value.detail


@pytest.mark.parametrize(("code", "status"), [("11", None), ("99", 404), ("ile", 404)])
def test_require_region(code: str, status: int | None) -> None:
    if status is None:
        require_region(code)
        return
    with pytest.raises(ApiError) as err:
        require_region(code)
    assert err.value.status == 404 and err.value.errors[0].parameter == "region_code"


@pytest.mark.parametrize(
    ("params", "ok"),
    [
        ({"region_code": "11", "month": "2024-06"}, True),
        ({"region_code": "11", "date": "2024-06-01"}, True),
        ({"region_code": "11", "month": "2024-13"}, False),
        ({"region_code": "11", "month": "2024-6"}, False),
        ({"month": "2024-06"}, True),  # every region
        ({"year": "2024", "format": "parquet"}, True),
        ({"year": "2100"}, False),
        ({"year": "2024", "format": "xls"}, False),
    ],
)
def test_export_query(params: dict[str, str], ok: bool) -> None:
    if ok:
        parse(ExportQuery, params)
    else:
        with pytest.raises(ApiError):
            parse(ExportQuery, params)


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({"start_date": "2024-01-01"}, "end_date"),
        ({"start_date": "2024-01-01", "end_date": "2024-01-02", "force": True}, "force"),
        ({"start_date": "2024-01-01", "end_date": "2024-01-02", "region_codes": "11"}, "region_codes"),
        ({"start_date": 20240101, "end_date": "2024-01-02"}, "start_date"),
    ],
)
def test_backfill_body_rejections(body: dict[str, Any], bad: str) -> None:
    with pytest.raises(ApiError) as err:
        parse(BackfillRequest, body, what="body")
    assert err.value.status == 400
    assert any(e.parameter.startswith(bad) for e in err.value.errors)


def _date_schemas() -> list[dict[str, Any]]:
    from tests.unit.api.test_openapi import openapi_document

    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("format") == "date" or (node.get("pattern") or "").startswith("^20"):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    # What a client sends: parameters and request bodies (response dates are the server's, unbounded).
    document = openapi_document()
    walk(document["paths"])
    walk({name: schema for name, schema in document["components"]["schemas"].items() if name.endswith("Request")})
    return found


def test_every_date_in_the_document_carries_the_2000_2099_bounds() -> None:
    schemas = _date_schemas()
    assert len(schemas) >= 6  # range start/end, day path, export date and month, backfill body start/end
    for schema in schemas:
        pattern = re.compile(schema["pattern"])
        if schema.get("format") == "date":
            insides: tuple[str, ...] = ("2000-01-01", "2099-12-31")
        elif pattern.fullmatch("2024"):  # a year
            insides = ("2000", "2099")
        else:
            insides = ("2000-01", "2099-12")
        for inside in insides:
            assert pattern.fullmatch(inside), (schema, inside)
        for outside in ("1999-12-31", "2100-01-01", "0001-01-01", "1999-12", "2100-01", "1999", "2100"):
            assert not pattern.fullmatch(outside), (schema, outside)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"^20\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", fullmatch=True))
def test_a_date_the_schema_allows_is_accepted_when_it_exists(text: str) -> None:
    try:
        date.fromisoformat(text)
    except ValueError:
        return  # not a calendar date: format "date" excludes it too
    assert parse(DayPath, {"region_code": "11", "date": text}, what="path").date.isoformat() == text


@pytest.mark.parametrize(
    "values",
    [
        {"region_code": "11", "date": "2024-03-31"},
        {"region_code": "99", "date": "2000-01-01"},  # an unknown region is the reader's 404, not a 400
        {"region_code": "11", "date": "2099-12-31"},
        {"region_code": "11", "date": "1999-12-31"},
        {"region_code": "11", "date": "2100-01-01"},
        {"region_code": "11", "date": "2024-02-30"},
        {"region_code": "11", "date": "2024-3-31"},
        {"region_code": "11", "date": "20240331"},
        {"region_code": "11", "date": "2024-03-31T00:00"},
        {"region_code": "11", "date": "\u0662\u0660\u0662\u0664-\u0660\u0663-\u0663\u0661"},  # Arabic-Indic digits
        {"region_code": "11", "date": ""},
        {"region_code": "11"},
        {"date": "2024-03-31"},
        {"region_code": "11", "date": "2024-03-31", "extra": "x"},
        {"region_code": 11, "date": "2024-03-31"},
        {"region_code": "11", "date": date(2024, 3, 31)},
    ],
)
def test_parse_day_path_answers_as_the_day_path_model(values: dict[str, Any]) -> None:
    """The fast path of valid values and the model give the same key, and the same 400 otherwise."""
    try:
        model = parse(DayPath, values, what="path")
    except ApiError as exc:
        with pytest.raises(ApiError) as err:
            parse_day_path(values)
        assert (err.value.status, err.value.detail, err.value.errors) == (exc.status, exc.detail, exc.errors)
        return
    assert parse_day_path(values) == (model.region_code, model.date.isoformat())
