"""The delivery orchestrator as a plain generator: batches in order, back-off on durable timers, disabled after
the retry window; the batch (and so its webhook-id and body) is the same on every attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrations import webhooks as orch
from orchestrations.names import ACTIVITY_WEBHOOK_DISABLE, ACTIVITY_WEBHOOK_NEXT_BATCH, ACTIVITY_WEBHOOK_SEND

START = datetime(2024, 1, 1, tzinfo=UTC)
POLICY = {"subscription_id": "wh_1", "retry_base_seconds": 10, "retry_max_seconds": 40, "retry_window_seconds": 100}


class Clocked:
    def __init__(self) -> None:
        self.current_utc_datetime = START
        self.continued: Any = None

    def get_input(self) -> Any:
        return POLICY

    def call_activity_with_retry(self, name: str, retry: Any, payload: Any) -> tuple[str, Any]:
        return (name, payload)

    def create_timer(self, fire_at: datetime) -> tuple[str, datetime]:
        return ("timer", fire_at)

    def continue_as_new(self, value: Any) -> None:
        self.continued = value


def drive(answers: list[Any]) -> tuple[list[Any], Any]:
    """Steps the orchestrator asks for, answering in turn (a timer moves the clock to its fire time)."""
    ctx = Clocked()
    gen = orch.webhook_delivery_orchestrator._function._func.orchestrator_function(ctx)
    steps = [next(gen)]
    try:
        for answer in answers:
            if steps[-1][0] == "timer":
                ctx.current_utc_datetime = steps[-1][1]
            steps.append(gen.send(answer))
    except StopIteration as stop:
        return steps, stop.value
    pytest.fail(f"still running after {steps}")


BATCH = {"webhook_id": "msg_1", "since": "c0", "cursor": "c5", "payload": "{}", "items": 5}
FAILED = {"ok": False, "status": 500, "error": "HTTP 500"}


def test_failures_wait_on_doubling_timers_then_the_same_batch_is_delivered() -> None:
    steps, result = drive([BATCH, FAILED, None, FAILED, None, {"ok": True}, None])
    assert [s[0] for s in steps] == [ACTIVITY_WEBHOOK_NEXT_BATCH, *[ACTIVITY_WEBHOOK_SEND, "timer"] * 2,
                                     ACTIVITY_WEBHOOK_SEND, ACTIVITY_WEBHOOK_NEXT_BATCH]  # fmt: skip
    sends = [s[1] for s in steps if s[0] == ACTIVITY_WEBHOOK_SEND]
    assert all(s["batch"] == BATCH for s in sends) and [s["attempt"] for s in sends] == [1, 2, 3]
    assert [s[1] - START for s in steps if s[0] == "timer"] == [timedelta(seconds=10), timedelta(seconds=30)]
    assert result == {"subscription_id": "wh_1", "delivered": 1, "caught_up": True}


def test_a_batch_failing_past_the_window_disables_the_subscription() -> None:
    answers: list[Any] = [BATCH]
    answers += [FAILED, None] * 5 + [FAILED, {"disabled": True}]
    steps, result = drive(answers)
    assert steps[-1][0] == ACTIVITY_WEBHOOK_DISABLE and "HTTP 500" in steps[-1][1]["reason"]
    assert result["stopped"] == "disabled"
    timers = [s[1] for s in steps if s[0] == "timer"]
    assert timers[-1] - START <= timedelta(seconds=101)  # the last wait ends at the window, not beyond
