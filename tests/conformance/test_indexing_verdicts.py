"""devhost refuses at start exactly what the real worker refuses at indexing, with the same message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from devhost.functions import FunctionIndex
from devhost.indexing import IndexingError, own_verdict, worker_verdict
from tests.fixtures.devhost_apps.indexing_cases import CASES

REFUSED = {
    "activity_builtin_dict": "binding payload has invalid non-type annotation dict[str, typing.Any]",
    "activity_builtin_list": "binding payload has invalid non-type annotation list[int]",
    "http_param_renamed": "declared in Python but not in function.json: {'request'}",
    "http_extra_param": "declared in Python but not in function.json: {'limit'}",
    "http_wrong_type": 'Python type annotation "int"',
    "http_optional_request": "issubclass() arg 1 must be a class",
    "http_out_request": "its annotation is azure.functions.Out in Python",
    "http_returns_int": 'Python return annotation "int" does not match binding type "http"',
    "http_returns_generic": "has invalid non-type return annotation dict[str, typing.Any]",
    "http_bad_context": "expected to be of type azure.functions.Context",
    "duplicate_names": "Function same does not have a unique function name",
    "timer_wrong_type": "'timer' binding type \"timerTrigger\"",
}


def _verdict(make_app: Callable[[], Any], judge: Callable[[Sequence[Any]], None]) -> str:
    try:
        judge(make_app().get_functions())  # duplicate names fail inside get_functions, on both sides
    except (IndexingError, ValueError) as exc:
        return str(exc)
    return "loads"


@pytest.mark.parametrize("case", sorted(CASES))
def test_devhost_rules_give_the_worker_verdict(case: str, worker_dir: Path) -> None:
    worker = _verdict(CASES[case], lambda fs: worker_verdict(fs, worker_dir))
    assert _verdict(CASES[case], own_verdict) == worker
    assert (REFUSED[case] in worker) if case in REFUSED else worker == "loads"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_devhost_refuses_at_index_with_the_worker_message(case: str, worker_dir: Path) -> None:
    with pytest.raises((IndexingError, ValueError), match=r".") as refused:
        FunctionIndex(CASES[case]())
    assert REFUSED[case] in str(refused.value)


def test_the_real_app_loads_on_the_worker(worker_dir: Path) -> None:
    import function_app

    index = FunctionIndex(function_app.app)
    assert index.indexing_judge == "worker"
    assert len(index.functions) >= 15
