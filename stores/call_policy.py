"""How patient a store client is: the API's reads give up fast (503), the materialization waits out throttling."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.settings import Settings


class Caller(StrEnum):
    reads = "reads"  # HTTP requests: a client is waiting
    batch = "batch"  # materialization activities: the orchestrator retries them on top


@dataclass(frozen=True)
class CallPolicy:
    attempts: int  # tries of one call, the first included
    timeout_seconds: float  # connect and read timeout of one attempt
    throttle_wait_seconds: int  # total wait on throttling (429) within one call

    @property
    def retries(self) -> int:
        return self.attempts - 1

    @property
    def deadline_seconds(self) -> float:
        """Longest a call may take with every attempt timing out and the throttle waits spent."""
        return self.attempts * self.timeout_seconds + self.throttle_wait_seconds


def call_policy(settings: Settings, caller: Caller) -> CallPolicy:
    if caller is Caller.reads:
        return CallPolicy(
            settings.STORE_READ_ATTEMPTS, settings.STORE_READ_TIMEOUT_SECONDS, settings.STORE_READ_THROTTLE_WAIT_SECONDS
        )
    return CallPolicy(
        settings.STORE_BATCH_ATTEMPTS, settings.STORE_BATCH_TIMEOUT_SECONDS, settings.STORE_BATCH_THROTTLE_WAIT_SECONDS
    )
