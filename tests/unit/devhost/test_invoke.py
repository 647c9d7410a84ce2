"""Invocation as the worker does it: a value returned with no return binding fails the call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devhost.functions import FunctionInfo
from devhost.invoke import invoke


def _sync(value: Any) -> Callable[..., Any]:
    def body(timer: object) -> Any:
        return value

    return body


def _async(value: Any) -> Callable[..., Any]:
    async def body(timer: object) -> Any:
        return value

    return body


@pytest.mark.parametrize("make_body", [_sync, _async], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("has_return", "value", "fails"),
    [
        (False, None, False),
        (False, "done", True),
        (False, 0, True),  # any value but None, falsy ones too
        (True, "done", False),
        (True, None, False),
    ],
)
async def test_a_value_with_nowhere_to_go_fails_the_invocation(
    make_body: Callable[[Any], Callable[..., Any]], has_return: bool, value: Any, fails: bool
) -> None:
    info = FunctionInfo(
        name="tick",
        trigger_type="timerTrigger",
        trigger_name="timer",
        user_function=make_body(value),
        has_return=has_return,
    )
    if fails:
        with pytest.raises(RuntimeError, match=r"^function 'tick' without a \$return bindingreturned a non-None"):
            await invoke(info, {"timer": object()})
    else:
        assert await invoke(info, {"timer": object()}) == value
