"""Optional wrk client (used when `wrk` is on PATH): far less CPU than a Python client on the same 2 cores.

The request paths are drawn in advance by the same shape functions and handed to a Lua script that cycles
through them; the script's done() prints the percentiles as JSON. the script counts every status other than the
expected one (a 200 where a 302 is expected is an error too), beside wrk's socket errors and timeouts.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SCRIPT = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
local paths = {%(paths)s}
local expected = %(expected)d
local n = 0
unexpected = 0
wrk.headers["X-API-Key"] = "%(key)s"
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
response = function(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local other = 0
  for _, t in ipairs(threads) do other = other + t:get("unexpected") end
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d,' ..
    '"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d,"unexpected":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout, other))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(paths: list[str], key: str, expected: int) -> str:
    return _SCRIPT % {"paths": ",".join(map(_lua_string, paths)), "expected": expected, "key": key}


def parse(stdout: str) -> dict[str, Any]:
    """The WRK_JSON line of the script's done(), as a LatencySummary-like dict with error counts."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    # Socket errors and timeouts (wrk's own counts) and every status other than the expected one (the script's).
    errors = {k: raw[k] for k in ("connect", "read", "write", "timeout", "unexpected") if raw[k]}
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": sum(errors.values()),
        "seconds": round(seconds, 3),
        "req_per_s": round(raw["requests"] / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "error_kinds": errors,
        "client": "wrk",
    }


def run_cell(
    base_url: str,
    key: str,
    make_path: Callable[[random.Random], str],
    concurrency: int,
    *,
    expect_status: int,
    duration_s: float,
    seed: int = 0,
    distinct_paths: int = 2000,
) -> dict[str, Any]:
    """One fixed-duration wrk cell at `concurrency` connections over 2 threads at most."""
    rng = random.Random(seed)
    paths = [make_path(rng) for _ in range(distinct_paths)]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        lua = Path(tmp) / "paths.lua"
        lua.write_text(script(paths, key, expect_status))
        argv = [
            "wrk",
            f"-t{min(2, concurrency)}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "30s",
            "-s",
            str(lua),
            base_url,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse(done.stdout)
