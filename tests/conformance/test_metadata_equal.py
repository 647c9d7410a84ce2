"""What the real worker reports at indexing equals devhost's index of the same app, function by function."""

from __future__ import annotations

import json
from typing import Any

from tests.support.conformance import Pair

_DATA_TYPES = {"UNDEFINED": 0, "STRING": 1, "BINARY": 2, "STREAM": 3}  # BindingInfo.DataType


def _data_type(value: Any) -> int:
    return 0 if value is None else _DATA_TYPES[str(getattr(value, "name", value)).upper()]


def _devhost_view(pair: Pair) -> dict[str, dict[str, Any]]:
    functions = {f.get_function_name(): f for f in pair.index.app._devhost_functions}  # the objects devhost indexed
    view = {}
    for info in pair.index.functions:
        bindings = {
            b.name: (b.type, int(b.direction), _data_type(b.data_type)) for b in functions[info.name].get_bindings()
        }
        view[info.name] = {
            "trigger": (info.trigger_type, info.trigger_name),
            "bindings": bindings,
            "route": info.route.template if info.route else None,
            "methods": sorted(info.methods) if info.route else None,
            "schedule": info.schedule,
            "durable_name": info.durable_name,
            "client": info.client_binding,
            "auth": "ANONYMOUS" if info.route else None,  # devhost asks no function key of any HTTP function
        }
    return view


def _worker_view(pair: Pair) -> dict[str, dict[str, Any]]:
    view = {}
    for metadata in pair.worker.metadata:
        raw = [json.loads(r) for r in metadata.raw_bindings]
        trigger = next(r for r in raw if r["type"].endswith("Trigger"))
        http = trigger["type"] == "httpTrigger"
        durable = trigger.get("orchestration") or trigger.get("activity") or metadata.name
        view[metadata.name] = {
            "trigger": (trigger["type"], trigger["name"]),
            "bindings": {n: (b.type, b.direction, b.data_type) for n, b in metadata.bindings.items()},
            "route": trigger.get("route", metadata.name) if http else None,
            "methods": sorted(trigger.get("methods") or ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
            if http
            else None,
            "schedule": trigger.get("schedule"),
            "durable_name": durable if trigger["type"] in ("orchestrationTrigger", "activityTrigger") else None,
            "client": next((r["name"] for r in raw if r["type"] == "durableClient"), None),
            "auth": trigger.get("authLevel") if http else None,
        }
    return view


def test_every_function_is_indexed_alike(pair: Pair) -> None:
    devhost, worker = _devhost_view(pair), _worker_view(pair)
    assert sorted(worker) == sorted(devhost)
    for name in devhost:
        assert worker[name] == devhost[name], name
    kinds = {v["trigger"][0] for v in devhost.values()}
    assert {"httpTrigger", "timerTrigger", "orchestrationTrigger", "activityTrigger"} <= kinds
    assert any(v["client"] for v in devhost.values())


def test_every_function_loads_on_the_worker(pair: Pair) -> None:
    assert sorted(pair.worker.function_ids) == sorted(f.name for f in pair.index.functions)
