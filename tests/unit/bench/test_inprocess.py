"""bench.inprocess: CPU per request of a read function, each response dropped once its status is read."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import azure.functions as func
import pytest

from bench.inprocess import cpu_per_request

REQUEST = func.HttpRequest("GET", "http://127.0.0.1/v1/health", body=b"")


class Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.body = b"x" * 1000


@pytest.mark.parametrize("asynchronous", [False, True])
def test_each_response_is_dropped_once_its_status_is_read(asynchronous: bool) -> None:
    made: list[weakref.ref[Response]] = []
    most_alive = 0

    def answer(request: Any) -> Response:
        nonlocal most_alive
        most_alive = max(most_alive, sum(ref() is not None for ref in made))
        response = Response(200)
        made.append(weakref.ref(response))
        return response

    async def answer_async(request: Any) -> Response:
        await asyncio.sleep(0)
        return answer(request)

    figures = cpu_per_request(answer_async if asynchronous else answer, [REQUEST] * 50, 200)
    assert figures["requests"] == 50 and figures["cpu_us_per_request"] >= 0
    assert len(made) == 100  # a warm pass, then the measured one
    assert most_alive == 0  # each dropped before the next request, as a server drops it once sent


def test_a_status_other_than_the_expected_one_fails_the_run() -> None:
    with pytest.raises(RuntimeError, match="expected 200"):
        cpu_per_request(lambda request: Response(404), [REQUEST] * 3, 200)
