"""Invocation as the worker does it: async functions on the loop, sync ones on its thread pool; a value
returned with no return binding fails the call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devhost.functions import FunctionInfo
from devhost.invoke import InvocationContext, invocation, invoke

CALLS = pytest.mark.parametrize("call", [invoke, invocation], ids=["invoke", "invocation"])


def _sync(value: Any) -> Callable[..., Any]:
    def body(timer: object) -> Any:
        return value

    return body


def _async(value: Any) -> Callable[..., Any]:
    async def body(timer: object) -> Any:
        return value

    return body


@CALLS
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
    call: Callable[..., Any], make_body: Callable[[Any], Callable[..., Any]], has_return: bool, value: Any, fails: bool
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
            await call(info, {"timer": object()})
    else:
        assert await call(info, {"timer": object()}) == value


@CALLS
async def test_async_functions_run_on_the_loop_and_sync_ones_on_the_executor(call: Callable[..., Any]) -> None:
    loop_thread = threading.get_ident()

    def sync_body(timer: object) -> int:
        return threading.get_ident()

    async def async_body(timer: object) -> int:
        return threading.get_ident()

    ran_on = {}
    for name, body in (("sync", sync_body), ("async", async_body)):
        info = FunctionInfo(name=name, trigger_type="t", trigger_name="timer", user_function=body, has_return=True)
        ran_on[name] = await call(info, {"timer": object()}, ThreadPoolExecutor(1))
    assert ran_on["async"] == loop_thread and ran_on["sync"] != loop_thread


async def test_an_async_function_with_its_return_binding_is_awaited_as_it_is() -> None:
    """No coroutine around it (one less on every HTTP request); anything else goes through `invoke`."""

    async def handler(req: object) -> str:
        return "reply"

    info = FunctionInfo(
        name="h", trigger_type="httpTrigger", trigger_name="req", user_function=handler, has_return=True
    )
    awaited = invocation(info, {"req": object()})
    assert getattr(awaited, "cr_code", None) is handler.__code__
    assert await awaited == "reply"


@CALLS
async def test_a_function_with_a_context_parameter_gets_one(call: Callable[..., Any]) -> None:
    async def handler(req: object, context: InvocationContext) -> str:
        return context.function_name

    info = FunctionInfo(
        name="h",
        trigger_type="httpTrigger",
        trigger_name="req",
        user_function=handler,
        parameters=frozenset({"req", "context"}),
        has_return=True,
    )
    assert await call(info, {"req": object()}) == "h"
