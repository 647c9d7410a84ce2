"""A store that cannot answer now is a 503 problem with Retry-After, never a 500 (api.http's one mapping)."""

from __future__ import annotations

import logging

import pytest

from api.auth import Role
from api.http import Reply, RequestContext, Route, respond
from core.settings import Settings
from stores.errors import StoreUnavailable
from tests.support.api_documents import MakeRequest
from tests.unit.api.test_http import assert_problem

ROUTE = Route("thing", "/v1/thing", {"GET": Role.reader})


def unavailable(hint: int | None) -> object:
    def handler(ctx: RequestContext) -> Reply:
        raise StoreUnavailable("documents", "HTTP 429", hint)

    return handler


@pytest.mark.parametrize(("hint", "retry_after"), [(None, "7"), (3, "3")], ids=["default", "store-hint"])
def test_store_unavailable_is_503_with_retry_after(
    make_request: MakeRequest, settings: Settings, caplog: pytest.LogCaptureFixture, hint: int | None, retry_after: str
) -> None:
    settings = settings.model_copy(update={"STORE_RETRY_AFTER_SECONDS": 7})
    with caplog.at_level(logging.WARNING):
        resp = respond(make_request("GET", ROUTE.path), ROUTE, unavailable(hint), settings)  # type: ignore[arg-type]
    body = assert_problem(resp, 503)
    assert resp.headers["Retry-After"] == retry_after
    assert resp.headers["Cache-Control"] == "no-store"
    assert body["type"] == "urn:eco2mix:problem:store-unavailable"
    assert any(body["request_id"] in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
