"""Every error case over HTTP: the right 4xx, and one problem+json shape for all of them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.e2e_api import Api, DevhostServer, assert_problem

pytestmark = pytest.mark.e2e

RANGE = "/v1/production/regional"
OK = {"start_date": "2024-01-01", "end_date": "2024-01-31"}
BACKFILLS = "/v1/admin/backfills"

# (id, method, path, kwargs for Api.call, expected status)
ERROR_CASES: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("missing start", "GET", RANGE, {"params": {"end_date": "2024-01-31"}}, 400),
    ("invalid date", "GET", RANGE, {"params": {**OK, "start_date": "2024-02-30"}}, 400),
    ("date format", "GET", RANGE, {"params": {**OK, "start_date": "01/01/2024"}}, 400),
    ("start after end", "GET", RANGE, {"params": {"start_date": "2024-02-01", "end_date": "2024-01-01"}}, 400),
    ("hour range too large", "GET", RANGE, {"params": {"start_date": "2024-01-01", "end_date": "2024-03-01"}}, 400),
    (
        "day range too large",
        "GET",
        RANGE,
        {"params": {"start_date": "2023-01-01", "end_date": "2024-06-01", "granularity": "day"}},
        400,
    ),
    ("unknown source", "GET", RANGE, {"params": {**OK, "source_type": "charbon"}}, 400),
    ("unknown granularity", "GET", RANGE, {"params": {**OK, "granularity": "week"}}, 400),
    ("limit too big", "GET", RANGE, {"params": {**OK, "limit": "100000"}}, 400),
    ("negative offset", "GET", RANGE, {"params": {**OK, "offset": "-5"}}, 400),
    ("unknown parameter", "GET", RANGE, {"params": {**OK, "colour": "blue"}}, 400),
    ("unknown region (query)", "GET", RANGE, {"params": {**OK, "region_code": "99"}}, 400),
    ("injection in region_code", "GET", RANGE, {"params": {**OK, "region_code": "32' OR 1=1--"}}, 400),
    ("unknown region (path)", "GET", "/v1/production/regional/99/2024-01-01", {}, 404),
    ("day without data", "GET", "/v1/production/regional/11/2031-01-01", {}, 404),
    ("invalid day in path", "GET", "/v1/production/regional/11/2024-13-01", {}, 400),
    ("export needs date or month", "GET", "/v1/export/csv", {"params": {"region_code": "11"}}, 400),
    (
        "export both date and month",
        "GET",
        "/v1/export/csv",
        {"params": {"region_code": "11", "date": "2024-01-01", "month": "2024-01"}},
        400,
    ),
    ("export bad month", "GET", "/v1/export/csv", {"params": {"region_code": "11", "month": "2024-13"}}, 400),
    ("export unknown region", "GET", "/v1/export/csv", {"params": {"region_code": "00", "month": "2024-01"}}, 400),
    ("export file absent", "GET", "/v1/export/csv", {"params": {"region_code": "11", "month": "2031-01"}}, 404),
    (
        "malformed JSON",
        "POST",
        BACKFILLS,
        {"role": "operator", "data": b"{oops", "headers": {"Content-Type": "application/json"}},
        400,
    ),
    ("JSON not an object", "POST", BACKFILLS, {"role": "operator", "json": ["2024-01-01"]}, 400),
    (
        "wrong content type",
        "POST",
        BACKFILLS,
        {
            "role": "operator",
            "data": b"start_date=2024-01-01",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        415,
    ),
    (
        "unknown body field",
        "POST",
        BACKFILLS,
        {"role": "operator", "json": {"start_date": "2024-01-01", "end_date": "2024-01-02", "force": True}},
        400,
    ),
    (
        "backfill start after end",
        "POST",
        BACKFILLS,
        {"role": "operator", "json": {"start_date": "2024-02-01", "end_date": "2024-01-01"}},
        400,
    ),
    (
        "backfill unknown region",
        "POST",
        BACKFILLS,
        {"role": "operator", "json": {"start_date": "2024-01-01", "end_date": "2024-01-02", "region_codes": ["99"]}},
        400,
    ),
    (
        "backfill huge range",
        "POST",
        BACKFILLS,
        {"role": "operator", "json": {"start_date": "2000-01-01", "end_date": "2099-01-01"}},
        400,
    ),
    (
        "backfill body nested past the JSON parser's depth",
        "POST",
        BACKFILLS,
        {"role": "operator", "data": b"[" * 16384, "headers": {"Content-Type": "application/json"}},
        400,
    ),
    ("unknown backfill", "GET", f"{BACKFILLS}/backfill-0000000000000000", {"role": "operator"}, 404),
    ("TRACE gets 405 with Allow", "TRACE", f"{BACKFILLS}/backfill-0000000000000000", {"role": "operator"}, 405),
    ("not a run id", "GET", f"{BACKFILLS}/materialize-incrementals", {"role": "operator"}, 404),
    ("terminate unknown backfill", "DELETE", f"{BACKFILLS}/backfill-0000000000000000", {"role": "operator"}, 404),
    ("wrong method on a read", "POST", RANGE, {"params": OK}, 405),
    ("wrong method on health", "DELETE", "/v1/health", {"role": None}, 405),
    ("wrong method on backfills", "PUT", BACKFILLS, {"role": "operator"}, 405),
    ("run list: unknown status", "GET", BACKFILLS, {"role": "operator", "params": {"status": "Done"}}, 400),
    (
        "run list: naive time",
        "GET",
        BACKFILLS,
        {"role": "operator", "params": {"created_from": "2024-01-01T00:00"}},
        400,
    ),
    (
        "run list: foreign continuation",
        "GET",
        BACKFILLS,
        {"role": "operator", "params": {"continuation": "c3RvcmU"}},
        400,
    ),
    ("run list for a reader", "GET", BACKFILLS, {"role": "reader"}, 403),
    ("unknown docs asset", "GET", "/v1/docs/assets/secret.py", {"role": None}, 404),
    ("no key", "GET", "/v1/regions", {"role": None}, 401),
    ("wrong key", "GET", "/v1/regions", {"role": "wrong"}, 401),
    (
        "reader on operator route",
        "POST",
        BACKFILLS,
        {"json": {"start_date": "2024-01-01", "end_date": "2024-01-02"}},
        403,
    ),
    ("bearer not configured", "GET", "/v1/regions", {"role": None, "headers": {"Authorization": "Bearer a.b.c"}}, 401),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_error_case(api: Api, method: str, path: str, kwargs: dict[str, Any], status: int) -> None:
    resp = api.call(method, path, **kwargs)
    assert_problem(resp, status)
    if status == 401:
        assert "ApiKey" in resp.headers["WWW-Authenticate"]
    if status == 405:
        assert resp.headers["Allow"]


def test_parameter_errors_name_the_parameter(api: Api) -> None:
    body = assert_problem(api.get(RANGE, params={**OK, "start_date": "nope", "limit": "0"}), 400)
    assert {e["parameter"] for e in body["errors"]} == {"start_date", "limit"}


def test_range_limit_is_stated(api: Api) -> None:
    body = assert_problem(api.get(RANGE, params={"start_date": "2024-01-01", "end_date": "2024-03-01"}), 400)
    assert "31 days" in body["detail"]


def test_incoming_request_id_is_echoed_in_errors(api: Api) -> None:
    resp = api.get("/v1/production/regional/99/2024-01-01", headers={"X-Request-ID": "e2e-trace.1"})
    assert assert_problem(resp, 404)["request_id"] == "e2e-trace.1"
    unsafe = api.get("/v1/production/regional/99/2024-01-01", headers={"X-Request-ID": "bad id<>"})
    assert assert_problem(unsafe, 404)["request_id"] != "bad id<>"


def test_every_error_response_collected_has_the_problem_shape(devhost_server: DevhostServer) -> None:
    """All the cases above again, in one client, then every >= 400 response it saw is checked."""
    client = Api(devhost_server)
    for _, method, path, kwargs, _ in ERROR_CASES:
        client.call(method, path, **kwargs)
    for route in ("/v1/regions", RANGE, "/v1/production/regional/11/2024-01-01", "/v1/export/csv", BACKFILLS):
        for role in (None, "wrong"):
            client.call("GET", route, role=role)
    errors = [r for r in client.seen if r.status_code >= 400]
    assert len(errors) == len(client.seen) >= len(ERROR_CASES)
    for resp in errors:
        assert_problem(resp)
    client.session.close()
