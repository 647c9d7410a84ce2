"""devhost's own indexing rules (the path taken when the real worker is not built)."""

from __future__ import annotations

import pytest

from devhost.indexing import IndexingError, check_app_functions
from tests.fixtures.devhost_apps.indexing_cases import (
    HOST_ROUTE_CASES,
    activity_builtin_dict,
    activity_plain_dict,
    http_returns_int,
)


def test_without_the_worker_devhost_judges_and_accepts_a_good_app() -> None:
    assert check_app_functions(activity_plain_dict().get_functions(), worker_dir=None, allow_worker=False) == "devhost"


@pytest.mark.parametrize(
    ("make_app", "message"),
    [
        (activity_builtin_dict, "cannot load the work function: binding payload has invalid non-type annotation"),
        (http_returns_int, 'Python return annotation "int" does not match binding type "http"'),
    ],
)
def test_without_the_worker_devhost_refuses_with_the_worker_message(make_app: object, message: str) -> None:
    with pytest.raises(IndexingError, match="cannot load") as refused:
        check_app_functions(make_app().get_functions(), worker_dir=None, allow_worker=False)  # type: ignore[operator]
    assert message in str(refused.value)


@pytest.mark.parametrize("case", sorted(HOST_ROUTE_CASES))
def test_route_conflicts_and_reserved_routes_are_refused_as_the_host_does(case: str) -> None:
    make_app, message = HOST_ROUTE_CASES[case]
    functions = make_app().get_functions()
    if message is None:
        assert check_app_functions(functions, allow_worker=False) == "devhost"
        return
    with pytest.raises(IndexingError) as refused:
        check_app_functions(functions, allow_worker=False)
    assert message in str(refused.value)
