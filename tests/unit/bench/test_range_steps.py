"""bench.range_steps: each wrapped step charges its own CPU to its label, returning or raising."""

from __future__ import annotations

from collections import defaultdict

import pytest

from bench.range_steps import _timed


def _busy(n: int) -> int:
    if n < 0:
        raise ValueError("negative")
    return sum(i * i for i in range(n))


def test_a_timed_step_returns_its_result_and_charges_its_label_even_when_it_raises() -> None:
    spent: dict[str, int] = defaultdict(int)
    step = _timed(_busy, "busy", spent)
    assert step(200_000) == _busy(200_000)
    after_one = spent["busy"]
    assert after_one > 0 and set(spent) == {"busy"}
    with pytest.raises(ValueError, match="negative"):
        step(-1)
    assert spent["busy"] >= after_one
