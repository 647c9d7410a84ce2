"""The ports are the domain's (domain.ports); re-exported here for the adapters and callers that name them so."""

from __future__ import annotations

from domain.ports import SYSTEM_PARTITION, Document, DocumentStore, FileStore, GoldSource

__all__ = ["SYSTEM_PARTITION", "Document", "DocumentStore", "FileStore", "GoldSource"]
