"""Route templates: parameters, constraints, optional and catch-all segments, precedence."""

from __future__ import annotations

import pytest

from devhost.routes import RouteTable, compile_route, sort_by_precedence


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        (
            "v1/export/csv/{region_code}/{day}",
            "v1/export/csv/EU-West/2024-05-01",
            {"region_code": "EU-West", "day": "2024-05-01"},
        ),
        ("v1/export/csv/{region_code}/{day}", "V1/EXPORT/csv/a/b", {"region_code": "a", "day": "b"}),
        ("v1/export/csv/{region_code}/{day}", "v1/export/csv/a", None),
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/x42", None),
        ("items/{id:int}/{rest?}", "items/42", {"id": "42"}),
        ("items/{id:int}/{rest?}", "items/42/more", {"id": "42", "rest": "more"}),
        ("items/{kind=all}", "items", {"kind": "all"}),
        ("files/{*path}", "files/a/b%20c.csv", {"path": "a/b c.csv"}),
        ("files/{name}.csv", "files/report.csv", {"name": "report"}),
        ("files/{name}.csv", "files/report.txt", None),
        ("flags/{on:bool}", "flags/TRUE", {"on": "TRUE"}),
        ("v1/regions", "v1/regions/", {}),
    ],
)
def test_route_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert compile_route(template).match(path) == expected


def test_precedence_literal_before_constrained_before_plain_before_catchall() -> None:
    templates = [compile_route(t) for t in ("a/{*rest}", "a/{x}", "a/{x:int}", "a/literal", "a/{x?}")]
    ordered = [t.template for t in sort_by_precedence(templates)]
    assert ordered == ["a/literal", "a/{x:int}", "a/{x}", "a/{x?}", "a/{*rest}"]


_TABLE = sort_by_precedence(
    [
        compile_route(t)
        for t in (
            "v1/export/csv/{region_code}/{day}",
            "items/{id:int}/{rest?}",
            "items/{kind=all}",
            "files/{*path}",
            "files/{name}.csv",
            "flags/{on:bool}",
            "v1/regions",
            "v1/production/regional/{region_code}/{date}",
            "v1/production/regional/{region_code}/{date}/revisions",
            "v1/production/regional",
            "a/{*rest}",
            "a/{x}",
            "a/{x:int}",
            "a/literal",
        )
    ]
)


@pytest.mark.parametrize(
    "path",
    [
        "v1/export/csv/EU-West/2024-05-01",
        "/V1/EXPORT/csv/a/b/",
        "items/42",
        "items/42/more",
        "items",
        "items/x42",
        "files/a/b%20c.csv",
        "files/report.csv",
        "flags/TRUE",
        "v1/regions/",
        "v1/production/regional/11/2024-03-31",
        "v1/production/regional/11/2024-03-31/revisions",
        "v1/production/regional/11",
        "a/literal",
        "a/7",
        "a/x",
        "a/x/y",
        "nothing/here",
        "",
    ],
)
def test_a_route_table_finds_what_trying_each_template_in_turn_finds(path: str) -> None:
    in_turn = next(((t, values) for t in _TABLE if (values := t.match(path)) is not None), None)
    found = RouteTable([(t, t) for t in _TABLE]).first(path)
    assert found == in_turn
