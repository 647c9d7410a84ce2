"""What the conformance suite's `pair` fixture (tests/conformance/conftest.py) yields."""

from __future__ import annotations

from dataclasses import dataclass

from devhost.functions import FunctionIndex
from devhost.testing import DevhostProcess
from tests.conformance.grpc_host import WorkerHost


@dataclass
class Pair:
    """devhost (subprocess, real HTTP) and the real worker (gRPC, this test as host) on the same data."""

    devhost: DevhostProcess
    worker: WorkerHost
    index: FunctionIndex  # devhost's index of the same app, as devhost builds it
    keys: dict[str, str]
    system_key: str
