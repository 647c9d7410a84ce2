"""Call user functions the way the Python worker does: kwargs by binding name, sync ones on a thread."""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Awaitable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions.durable_functions import ActivityTriggerConverter
from azure.functions.timer import TimerRequest

from devhost.functions import FunctionInfo


@dataclass
class InvocationContext:
    """Stand-in for the worker's func.Context (passed when the function has a `context` parameter)."""

    function_name: str
    function_directory: str = "."
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


def invocation(info: FunctionInfo, kwargs: dict[str, Any], executor: Executor | None = None) -> Awaitable[Any]:
    """What to await for the function's result: an async function's own coroutine when nothing is left to do
    around it (no `context` to add, a return binding to take any result), else `invoke`'s. One coroutine
    less on every HTTP request (the triggers are async and have their $return)."""
    if info.is_async and info.has_return and "context" not in info.parameters:
        return info.user_function(**kwargs)
    return invoke(info, kwargs, executor)


async def invoke(info: FunctionInfo, kwargs: dict[str, Any], executor: Executor | None = None) -> Any:
    """Await async functions; run sync ones on the executor (the worker's thread pool)."""
    if "context" in info.parameters and "context" not in kwargs:
        kwargs["context"] = InvocationContext(function_name=info.name)
    fn = info.user_function
    if info.is_async:
        return returned(info, await fn(**kwargs))
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(executor, lambda: fn(**kwargs))
    if inspect.isawaitable(result):
        result = await result
    return returned(info, result)


def returned(info: FunctionInfo, result: Any) -> Any:
    """The worker fails the invocation when a function with nowhere to put its result returns one."""
    if result is not None and not info.has_return:
        # The worker's text, missing space included, so that logs read the same on devhost and in Azure.
        raise RuntimeError(f"function {info.name!r} without a $return bindingreturned a non-None value")
    return result


def build_http_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    route_params: Mapping[str, str],
    body: bytes,
) -> func.HttpRequest:
    # HttpRequest keeps its own copies of headers and params: the caller's mappings are passed as they are.
    return func.HttpRequest(method.upper(), url, headers=headers, params=query, route_params=route_params, body=body)


def http_response_parts(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers with repeats kept, body) from what an HTTP function returned."""
    if result is None:
        return 204, [], b""
    if isinstance(result, str | bytes):
        body = result.encode() if isinstance(result, str) else result
        return 200, [("Content-Type", "text/plain; charset=utf-8")], body
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"HTTP function returned {type(result).__name__}, expected HttpResponse")
    headers: list[tuple[str, str]] = list(result.headers)  # (name, value) pairs, repeated headers kept
    if "content-type" not in result.headers and result.mimetype:  # werkzeug's lookup ignores case
        # As the worker's HttpResponseConverter: a charset only for text/* mimetypes.
        text = result.mimetype.startswith("text/") and result.charset
        headers.append(("Content-Type", result.mimetype + (f"; charset={result.charset}" if text else "")))
    return result.status_code, headers, result.get_body() or b""


def run_activity(
    info: FunctionInfo,
    input_json: str | None,
    client_binding: str | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> str | None:
    """Run one activity synchronously (on a worker thread); returns the JSON text of its result.

    An activity with a durableClient input gets `client_binding` (the binding JSON the SDK's client is built
    from), as the Functions host gives it to any function. An async activity runs on `loop` (the host's), else on
    this process's one activity loop: the worker runs async functions on its one event loop, and the SDK's
    client keeps one aiohttp session bound to the loop that first used it."""
    from azure.functions import meta

    value = ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_json), trigger_metadata=None)
    kwargs: dict[str, Any] = {info.trigger_name: value}
    if info.client_binding:
        kwargs[info.client_binding] = client_binding
    if "context" in info.parameters:
        kwargs["context"] = InvocationContext(function_name=info.name)
    result = info.user_function(**kwargs)
    if inspect.isawaitable(result):
        target = loop if loop is not None else activity_loop()
        result = asyncio.run_coroutine_threadsafe(_await(result), target).result()
    encoded = ActivityTriggerConverter.encode(result, expected_type=None)
    return None if encoded is None else encoded.value


async def _await(awaitable: Any) -> Any:
    return await awaitable


_activity_loop: asyncio.AbstractEventLoop | None = None
_activity_loop_lock = threading.Lock()


def activity_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for async activities, running on a daemon thread (started on first use)."""
    global _activity_loop
    with _activity_loop_lock:
        if _activity_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="devhost-activity-loop", daemon=True).start()
            _activity_loop = loop
        return _activity_loop


def timer_request() -> TimerRequest:
    return TimerRequest(past_due=False)
