"""Logging and telemetry setup, done once per worker."""

from __future__ import annotations

import logging

_configured = False


def configure_telemetry() -> None:
    """Configure logging (and Azure Monitor when a connection string is set). Idempotent."""
    global _configured
    if _configured:
        return
    _configured = True
    logging.getLogger("azure").setLevel(logging.WARNING)
