"""Logging and telemetry setup, done once per worker.

Every log record carries the bound request id and orchestration instance id (contextvars, so each
request or activity sees its own). Locally, records are written as one JSON object per line; in Azure,
when APPLICATIONINSIGHTS_CONNECTION_STRING is set, they are also exported by azure-monitor-opentelemetry,
where the bound ids become custom dimensions.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from core.settings import Settings, get_settings

LOG_CONTEXT_FIELDS = ("request_id", "instance_id")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_log_context: ContextVar[Mapping[str, str]] = ContextVar("log_context", default=_EMPTY)

# Attributes every LogRecord has; anything else on a record was passed through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

_configured = False


def bind_log_context(request_id: str | None = None, instance_id: str | None = None, **fields: str) -> Token[Any]:
    """Attach ids to every log record of the current context (request, activity, orchestration).

    None values are ignored, so callers may pass what they have. Returns the token that
    `reset_log_context` takes to restore the previous context.
    """
    current = _log_context.get()
    if request_id is not None and instance_id is None and not fields and not current:
        # Every HTTP request's case (a fresh context, one id): no merge to make.
        return _log_context.set(MappingProxyType({"request_id": str(request_id)}))
    values = {"request_id": request_id, "instance_id": instance_id, **fields}
    merged = {**current, **{key: str(value) for key, value in values.items() if value is not None}}
    return _log_context.set(MappingProxyType(merged))


def reset_log_context(token: Token[Any]) -> None:
    _log_context.reset(token)


@contextmanager
def log_context(request_id: str | None = None, instance_id: str | None = None, **fields: str) -> Iterator[None]:
    """`with log_context(request_id=...):` binds for the block and restores the previous context after."""
    token = bind_log_context(request_id=request_id, instance_id=instance_id, **fields)
    try:
        yield
    finally:
        reset_log_context(token)


def current_log_context() -> dict[str, str]:
    return dict(_log_context.get())


def _wrap_record_factory(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    # A record factory (not a filter) so that records of every logger and handler carry the ids,
    # including the OpenTelemetry handler that azure-monitor-opentelemetry adds to the root logger.
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        for key, value in _log_context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return record

    make_record.__wrapped__ = factory  # type: ignore[attr-defined]
    return make_record


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, bound ids, `extra=` fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def managed_identity_client_id(authentication_string: str | None) -> str | None:
    """Client id from "ClientId=<id>;Authorization=AAD"; None unless Entra ID (AAD) auth is asked for."""
    if not authentication_string:
        return None
    parts = dict(part.split("=", 1) for part in authentication_string.split(";") if "=" in part)
    normalized = {key.strip().lower(): value.strip() for key, value in parts.items()}
    if normalized.get("authorization", "").upper() != "AAD":
        return None
    return normalized.get("clientid") or ""


def azure_monitor_options(settings: Settings) -> dict[str, Any] | None:
    """Keyword arguments of configure_azure_monitor for these settings; None when telemetry is off."""
    if not settings.APPLICATIONINSIGHTS_CONNECTION_STRING:
        return None
    options: dict[str, Any] = {"connection_string": settings.APPLICATIONINSIGHTS_CONNECTION_STRING}
    client_id = managed_identity_client_id(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)
    if client_id is not None:
        from azure.identity import ManagedIdentityCredential

        # Empty ClientId means the system-assigned identity.
        options["credential"] = ManagedIdentityCredential(client_id=client_id or None)
    return options


def _configure_azure_monitor(options: dict[str, Any]) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(**options)


_WORKER_PACKAGES = frozenset({"azure_functions_worker", "proxy_worker"})


def _under_functions_worker() -> bool:
    # The worker's dispatcher puts its gRPC log handler on the root logger before it loads any function.
    # Its modules being importable is no signal: devhost imports them to run the worker's indexing checks.
    return any(type(handler).__module__.split(".")[0] in _WORKER_PACKAGES for handler in logging.getLogger().handlers)


def _use_json_lines(root: logging.Logger, stream: Any) -> None:
    """Local processes (devhost, scripts) log one JSON object per line.

    Plain stream handlers already on the root logger (e.g. from logging.basicConfig) switch to the JSON
    formatter; without one, a stderr handler is added. Other handlers (pytest's capture, OpenTelemetry)
    are left alone.
    """
    plain = [handler for handler in root.handlers if type(handler) in (logging.StreamHandler, logging.FileHandler)]
    for handler in plain:
        handler.setFormatter(JsonFormatter())
    if not plain:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        if root.level == logging.WARNING:  # the untouched default
            root.setLevel(logging.INFO)


def configure_telemetry(
    settings: Settings | None = None,
    *,
    configure_monitor: Callable[[dict[str, Any]], None] = _configure_azure_monitor,
    stream: Any = None,
) -> None:
    """Configure logging (and Azure Monitor when a connection string is set). Idempotent.

    `configure_monitor` and `stream` exist for tests; the composition root calls this without arguments.
    """
    global _configured
    if _configured:
        return
    _configured = True
    settings = settings or get_settings()

    logging.setLogRecordFactory(_wrap_record_factory(logging.getLogRecordFactory()))
    logging.getLogger("azure").setLevel(logging.WARNING)

    # Under the Functions worker, records go through the worker's handler to the host (and to Azure
    # Monitor below): its format is the host's business.
    if not _under_functions_worker():
        _use_json_lines(logging.getLogger(), stream)

    options = azure_monitor_options(settings)
    if options is not None:
        configure_monitor(options)


def _reset_for_tests() -> None:
    """Undo configure_telemetry's process-wide changes (record factory, flag)."""
    global _configured
    _configured = False
    factory = logging.getLogRecordFactory()
    original = getattr(factory, "__wrapped__", None)
    if original is not None:
        logging.setLogRecordFactory(original)
