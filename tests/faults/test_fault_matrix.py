"""Every cell of the fault matrix (faults x stores x read/materialize); `python -m tests.faults` prints it."""

from __future__ import annotations

import pytest

from tests.faults.gold_faults import GOLD_FAULTS
from tests.faults.lab import OPERATIONS, STORES, Cell
from tests.faults.proxy import FAULT_KINDS

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]

CELLS = [(s, f, o) for s in STORES for f in FAULT_KINDS for o in OPERATIONS]


def applicable(store: str, fault: str, operation: str) -> bool:
    """The API never reads Gold, and 429/503 are HTTP statuses with no SQL counterpart."""
    return store != "gold" or (operation == "materialize" and fault in GOLD_FAULTS)


@pytest.mark.parametrize(("store", "fault", "operation"), CELLS, ids=["-".join(c) for c in CELLS])
def test_fault_cell(fault_cells: dict[tuple[str, str, str], Cell], store: str, fault: str, operation: str) -> None:
    cell = fault_cells[(store, fault, operation)]
    if not applicable(store, fault, operation):
        assert cell.passed is None
        return
    assert cell.passed, cell.detail


def test_the_matrix_tries_every_applicable_cell(fault_cells: dict[tuple[str, str, str], Cell]) -> None:
    tried = {k for k, c in fault_cells.items() if c.passed is not None}
    assert tried == {c for c in CELLS if applicable(*c)}
    assert len(tried) == 2 * 2 * len(FAULT_KINDS) + len(GOLD_FAULTS)
