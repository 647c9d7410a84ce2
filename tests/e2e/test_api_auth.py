"""Auth matrix over HTTP: no key, wrong key, reader, operator on every route."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.e2e_api import Api, assert_problem

pytestmark = pytest.mark.e2e

UNKNOWN_BACKFILL = "/v1/admin/backfills/backfill-0000000000000000"
# (method, path, request kwargs, status for: no key, wrong key, reader, operator)
MATRIX: list[tuple[str, str, dict[str, Any], tuple[int, int, int, int]]] = [
    ("GET", "/v1/health", {}, (200, 200, 200, 200)),
    ("GET", "/v1/openapi.json", {}, (200, 200, 200, 200)),
    ("GET", "/v1/docs", {}, (200, 200, 200, 200)),
    ("GET", "/v1/docs/assets/docs.js", {}, (200, 200, 200, 200)),
    ("GET", "/v1/methodologies", {}, (200, 200, 200, 200)),
    ("GET", "/v1/intensity/now", {}, (401, 401, 200, 200)),
    ("GET", "/v1/forecast/regional/FR", {}, (401, 401, 200, 200)),
    ("GET", "/v1/regions", {}, (401, 401, 200, 200)),
    (
        "GET",
        "/v1/production/regional",
        {"params": {"start_date": "2024-01-01", "end_date": "2024-01-01"}},
        (401, 401, 200, 200),
    ),
    ("GET", "/v1/production/regional/11/2024-01-01", {}, (401, 401, 200, 200)),
    ("GET", "/v1/export/csv", {"params": {"region_code": "11", "date": "2024-01-01"}}, (401, 401, 302, 302)),
    (
        "POST",
        "/v1/admin/backfills",
        {"json": {"start_date": "2031-01-01", "end_date": "2031-01-01"}},
        (401, 401, 403, 202),
    ),
    ("GET", "/v1/admin/backfills", {}, (401, 401, 403, 200)),
    ("GET", UNKNOWN_BACKFILL, {}, (401, 401, 403, 404)),
    ("DELETE", UNKNOWN_BACKFILL, {}, (401, 401, 403, 404)),
]
ROLES = (None, "wrong", "reader", "operator")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "role", "status"),
    [(m, p, kw, role, st) for m, p, kw, statuses in MATRIX for role, st in zip(ROLES, statuses, strict=True)],
    ids=[f"{m} {p} {role}" for m, p, _, statuses in MATRIX for role in ROLES],
)
def test_auth_matrix(api: Api, method: str, path: str, kwargs: dict[str, Any], role: str | None, status: int) -> None:
    resp = api.call(method, path, role=role, **kwargs)
    assert resp.status_code == status, resp.text[:300]
    if status >= 400:
        body = assert_problem(resp, status)
        assert ("WWW-Authenticate" in resp.headers) is (status == 401), body
