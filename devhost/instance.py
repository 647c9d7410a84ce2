"""An orchestration instance and a pending work row, as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


@dataclass(kw_only=True)
class Instance:
    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None = None  # JSON text of the stored input value
    output: str | None = None  # JSON text
    custom_status: str | None = None  # JSON text
    created: str
    updated: str
    parent: dict[str, Any] | None = None  # instance_id, execution_id, task_id, name of a parent orchestration
    history: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # the SDK's cumulative actions, last episode
    version: int = 0  # bumped by every write: an episode whose instance changed meanwhile is dropped


@dataclass(kw_only=True)
class WorkRow:
    id: int
    instance_id: str
    execution_id: str
    kind: str  # "inbox" (a history event to deliver) | "activity" | "timer"
    due: float | None
    payload: dict[str, Any]
