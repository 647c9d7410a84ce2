"""core.telemetry: bound log context, JSON lines, Azure Monitor configured once and only when asked."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential

from core import telemetry
from core.settings import Settings
from core.telemetry import (
    JsonFormatter,
    bind_log_context,
    configure_telemetry,
    current_log_context,
    log_context,
    managed_identity_client_id,
    reset_log_context,
)

CONNECTION_STRING = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/"


@pytest.fixture
def isolated_logging() -> Iterator[logging.Logger]:
    """The root logger with no handler, restored (handlers, level, record factory) after the test."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []
    root.setLevel(logging.WARNING)
    telemetry._reset_for_tests()
    try:
        yield root
    finally:
        telemetry._reset_for_tests()
        root.handlers = saved_handlers
        root.setLevel(saved_level)


def make_settings(**values: Any) -> Settings:
    return Settings.model_validate(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": None, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": None, **values}
    )


class MonitorSpy:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, options: dict[str, Any]) -> None:
        self.calls.append(options)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_bind_and_reset_log_context() -> None:
    before = current_log_context()
    token = bind_log_context(request_id="req-1", instance_id=None)
    assert current_log_context() == {**before, "request_id": "req-1"}
    inner = bind_log_context(instance_id="materialize-incremental")
    assert current_log_context() == {**before, "request_id": "req-1", "instance_id": "materialize-incremental"}
    reset_log_context(inner)
    reset_log_context(token)
    assert current_log_context() == before


@pytest.mark.parametrize(
    ("outer", "request_id", "expected"),
    [
        ({}, "req-2", {"request_id": "req-2"}),  # a fresh context: the envelope's case on every request
        ({"instance_id": "backfill-x"}, "req-2", {"instance_id": "backfill-x", "request_id": "req-2"}),
        ({"request_id": "outer"}, "req-2", {"request_id": "req-2"}),
    ],
)
def test_binding_a_request_id_keeps_what_is_bound_around_it(
    outer: dict[str, str], request_id: str, expected: dict[str, str]
) -> None:
    with log_context(**outer):
        token = bind_log_context(request_id=request_id)
        assert current_log_context() == expected
        reset_log_context(token)
        assert current_log_context() == outer


def test_log_context_block_restores_previous_context() -> None:
    with log_context(request_id="outer"):
        with log_context(request_id="inner", instance_id="backfill-x"):
            assert current_log_context()["request_id"] == "inner"
        assert current_log_context() == {"request_id": "outer"}
    assert "request_id" not in current_log_context()


def test_records_carry_bound_ids_as_json(isolated_logging: logging.Logger) -> None:
    stream = io.StringIO()
    configure_telemetry(make_settings(), configure_monitor=MonitorSpy(), stream=stream)
    logger = logging.getLogger("eco2mix.test")
    with log_context(request_id="req-42", instance_id="materialize-incremental"):
        logger.info("served %s", "/v1/regions", extra={"status": 200})
    logger.info("outside")

    inside, outside = json_lines(stream)
    assert inside["message"] == "served /v1/regions"
    assert inside["request_id"] == "req-42"
    assert inside["instance_id"] == "materialize-incremental"
    assert inside["status"] == 200
    assert inside["level"] == "INFO"
    assert inside["logger"] == "eco2mix.test"
    assert inside["time"].endswith("+00:00")
    assert "request_id" not in outside


async def test_concurrent_tasks_keep_their_own_ids(isolated_logging: logging.Logger) -> None:
    stream = io.StringIO()
    configure_telemetry(make_settings(), configure_monitor=MonitorSpy(), stream=stream)
    logger = logging.getLogger("eco2mix.test")

    async def handle(request_id: str) -> None:
        bind_log_context(request_id=request_id)  # each task runs in a copy of the context
        await asyncio.sleep(0)
        logger.info("handled")

    await asyncio.gather(*(handle(f"req-{n}") for n in range(5)))
    assert sorted(line["request_id"] for line in json_lines(stream)) == [f"req-{n}" for n in range(5)]


def test_exception_is_serialized(isolated_logging: logging.Logger) -> None:
    stream = io.StringIO()
    configure_telemetry(make_settings(), configure_monitor=MonitorSpy(), stream=stream)
    try:
        raise ValueError("bad region")
    except ValueError:
        logging.getLogger("eco2mix.test").exception("failed")
    (line,) = json_lines(stream)
    assert "ValueError: bad region" in line["error"]


def test_json_formatter_survives_unserializable_extra() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.payload = object()
    assert json.loads(JsonFormatter().format(record))["payload"].startswith("<object")


def test_no_connection_string_no_azure_monitor(isolated_logging: logging.Logger) -> None:
    spy = MonitorSpy()
    configure_telemetry(make_settings(), configure_monitor=spy, stream=io.StringIO())
    assert spy.calls == []


def test_azure_monitor_configured_once(isolated_logging: logging.Logger) -> None:
    spy = MonitorSpy()
    settings = make_settings(APPLICATIONINSIGHTS_CONNECTION_STRING=CONNECTION_STRING)
    configure_telemetry(settings, configure_monitor=spy, stream=io.StringIO())
    configure_telemetry(settings, configure_monitor=spy, stream=io.StringIO())
    assert spy.calls == [{"connection_string": CONNECTION_STRING}]


def test_azure_monitor_uses_the_managed_identity(isolated_logging: logging.Logger) -> None:
    spy = MonitorSpy()
    settings = make_settings(
        APPLICATIONINSIGHTS_CONNECTION_STRING=CONNECTION_STRING,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING="ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD",
    )
    configure_telemetry(settings, configure_monitor=spy, stream=io.StringIO())
    (options,) = spy.calls
    assert options["connection_string"] == CONNECTION_STRING
    assert isinstance(options["credential"], ManagedIdentityCredential)


def test_existing_plain_handler_switches_to_json(isolated_logging: logging.Logger) -> None:
    """devhost calls logging.basicConfig first: its stream handler is reused, now writing JSON lines."""
    stream = io.StringIO()
    isolated_logging.addHandler(logging.StreamHandler(stream))
    configure_telemetry(make_settings(), configure_monitor=MonitorSpy(), stream=io.StringIO())
    plain = [h for h in isolated_logging.handlers if type(h) is logging.StreamHandler]
    assert len(plain) == 1
    with log_context(request_id="req-7"):
        logging.getLogger("eco2mix.test").warning("slow")
    (line,) = json_lines(stream)
    assert line["request_id"] == "req-7"


class WorkerLoggingHandler(logging.StreamHandler):
    """Stands for the handler the worker's dispatcher adds to the root logger (same module name)."""


WorkerLoggingHandler.__module__ = "azure_functions_worker.dispatcher"


def test_functions_worker_logging_is_left_alone(
    isolated_logging: logging.Logger,
) -> None:
    """Under the Functions worker its handler forwards records to the host: no JSON, no extra handler."""
    worker_handler = WorkerLoggingHandler(io.StringIO())
    worker_formatter = worker_handler.formatter
    isolated_logging.addHandler(worker_handler)
    spy = MonitorSpy()
    configure_telemetry(make_settings(APPLICATIONINSIGHTS_CONNECTION_STRING=CONNECTION_STRING), configure_monitor=spy)
    assert worker_handler.formatter is worker_formatter
    assert not any(isinstance(handler.formatter, JsonFormatter) for handler in isolated_logging.handlers)
    assert len(spy.calls) == 1
    with log_context(instance_id="backfill-2024"):
        record = logging.getLogger("eco2mix.test").makeRecord("eco2mix.test", logging.INFO, __file__, 1, "m", (), None)
    assert record.instance_id == "backfill-2024"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("authentication_string", "expected"),
    [
        (None, None),
        ("", None),
        ("Authorization=AAD", ""),
        ("ClientId=abc;Authorization=AAD", "abc"),
        ("clientid=abc; authorization=aad", "abc"),
        ("ClientId=abc", None),
        ("ClientId=abc;Authorization=Key", None),
    ],
)
def test_managed_identity_client_id(authentication_string: str | None, expected: str | None) -> None:
    assert managed_identity_client_id(authentication_string) == expected
