"""The benchmark's HTTP client: one load abstraction (`load_cell`: wrk when on PATH, else aiohttp), the
latency statistics of its cells, and the lean sequential client of the paired cells.

- `load_cell` runs one cell of `concurrency` connections for `duration_s` over random paths of a shape. wrk (C,
  light on the shared cores) draws the paths in advance and cycles through them with a Lua script whose done()
  prints the percentiles as JSON; it counts every status other than the expected one (a 200 where a 302 is
  expected is an error too), beside wrk's socket errors and timeouts. The aiohttp fallback (`run_cell`) runs
  N workers, each on one keep-alive connection, until a deadline or a count; the load test uses it directly.
- `RawKeepAlive`: sequential timed GETs on one keep-alive socket, the response framed by hand. The paired cells
  compare the API's p50 over HTTP with the on-demand path's p50 in process, so the client's own cost lands on
  the API side only; http.client parses every header block with email.parser (~0.1 ms a request, as much as a
  cached point read costs the server). It sends fixed request bytes and reads the status line, the headers it
  needs and exactly Content-Length body bytes; it checks what it gets and refuses what it does not frame
  (chunked or close-delimited bodies) with ResponseError rather than timing a partial answer.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypedDict
from urllib.parse import urlsplit

import aiohttp

# --- latency statistics ---------------------------------------------------------------------------------------


class LatencySummary(TypedDict):
    requests: int
    errors: int
    seconds: float
    req_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {pct}")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(latencies_s: Sequence[float], errors: int, seconds: float) -> LatencySummary:
    """Percentiles in ms of the successful requests; req/s counts every request sent, errors included."""
    total = len(latencies_s) + errors

    def ms(pct: float) -> float | None:
        value = percentile(latencies_s, pct)
        return None if value is None else round(value * 1000, 3)

    return LatencySummary(
        requests=total,
        errors=errors,
        seconds=round(seconds, 3),
        req_per_s=round(total / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=ms(50),
        p95_ms=ms(95),
        p99_ms=ms(99),
        max_ms=round(max(latencies_s) * 1000, 3) if latencies_s else None,
    )


def speedup(precomputed_ms: float | None, ondemand_ms: float | None) -> float | None:
    """How many times faster the precomputed path is (on-demand / precomputed); None when unknown."""
    if precomputed_ms is None or ondemand_ms is None or precomputed_ms <= 0:
        return None
    return round(ondemand_ms / precomputed_ms, 1)


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Least-squares slope and intercept of ys over xs (how materialization time grows); None if undefined."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var_x = sum((x - mean_x) ** 2 for x in xs)
    if var_x == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var_x
    return slope, mean_y - slope * mean_x


# --- aiohttp: N workers until a deadline or a count -------------------------------------------------------------

PathFactory = Callable[[random.Random], str]
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Cell:
    """The raw outcome of one cell: latencies of the expected answers, and every unexpected one."""

    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> LatencySummary:
        return summarize(self.latencies_s, sum(self.errors.values()), self.seconds)


async def _worker(
    session: aiohttp.ClientSession,
    base_url: str,
    make_path: PathFactory,
    expect_status: int | Callable[[str], int],
    rng: random.Random,
    deadline: float,
    budget: list[int],
    cell: Cell,
) -> None:
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        path = make_path(rng)
        expected = expect_status(path) if callable(expect_status) else expect_status
        started = time.perf_counter()
        try:
            async with session.get(base_url + path, allow_redirects=False) as resp:
                await resp.read()
                elapsed = time.perf_counter() - started
                if resp.status == expected:
                    cell.latencies_s.append(elapsed)
                else:
                    cell.errors[f"HTTP {resp.status} on {path.split('?')[0].rsplit('/', 2)[0]}"] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            cell.errors[type(exc).__name__] += 1


async def run_cell(
    base_url: str,
    headers: dict[str, str],
    make_path: PathFactory,
    concurrency: int,
    *,
    expect_status: int | Callable[[str], int] = 200,
    duration_s: float = 5.0,
    max_requests: int = 100_000,
    seed: int = 0,
) -> Cell:
    """Run `concurrency` workers over one keep-alive connection each until `duration_s` or `max_requests`."""
    if concurrency < 1 or duration_s <= 0 or max_requests < 1:
        raise ValueError("concurrency, duration_s and max_requests must be positive")
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    cell = Cell()
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        budget = [max_requests]
        started = time.perf_counter()
        deadline = started + duration_s
        await asyncio.gather(
            *(
                _worker(session, base_url, make_path, expect_status, rng, deadline, budget, cell)
                for rng in (random.Random(seed * 1000 + i) for i in range(concurrency))
            )
        )
        cell.seconds = time.perf_counter() - started
    return cell


# --- wrk --------------------------------------------------------------------------------------------------------

_WRK_SCRIPT = """
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


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(paths: list[str], key: str, expected: int) -> str:
    return _WRK_SCRIPT % {"paths": ",".join(map(_lua_string, paths)), "expected": expected, "key": key}


def parse_wrk(stdout: str) -> dict[str, Any]:
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


def wrk_cell(
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
        lua.write_text(wrk_script(paths, key, expect_status))
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
    return parse_wrk(done.stdout)


# --- the lean sequential client of the paired cells --------------------------------------------------------------

_HEAD_END = b"\r\n\r\n"
_RECV = 65536
# Statuses whose response never has a body, whatever its headers say (RFC 9112 6.3).
_BODILESS = frozenset({204, 304})


class ResponseError(Exception):
    """An answer this client cannot frame or that ended early: counted as an error, never timed as a reply."""


class Reply(NamedTuple):
    status: int
    body: bytes


class RawKeepAlive:
    """Sequential GETs over one persistent connection (reopened when the server closes it)."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"plain http only, got {base_url!r}")
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._timeout_s = timeout_s
        lines = [f"Host: {self._address[0]}:{self._address[1]}", *(f"{k}: {v}" for k, v in headers.items())]
        self._header_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._sock: socket.socket | None = None
        self._buffer = bytearray()  # bytes received past the last response (none, with sequential requests)
        self.connections = 0  # sockets opened so far: one, unless the server closed them

    def get(self, path: str) -> Reply:
        """One GET; a kept connection the server had closed while idle is reopened once and the GET resent."""
        request = b"GET " + path.encode("ascii") + b" HTTP/1.1\r\n" + self._header_bytes
        reused = self._sock is not None
        try:
            try:
                return self._exchange(request)
            except _ClosedBeforeReply:
                if not reused:
                    raise
                self.close()
                return self._exchange(request)
        except _ClosedBeforeReply:
            self.close()
            raise ResponseError("the server closed the connection before answering") from None
        except TimeoutError:
            self.close()
            raise ResponseError(f"no reply within {self._timeout_s} s") from None
        except ResponseError:
            self.close()  # what is left of that answer on the socket would be read as the next one
            raise

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer.clear()

    def _exchange(self, request: bytes) -> Reply:
        sock = self._sock or self._connect()
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            raise _ClosedBeforeReply from None
        status, length, keep_alive = self._read_head(sock)
        body = self._read_body(sock, length)
        if not keep_alive:
            self.close()
        return Reply(status, body)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self._address, timeout=self._timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the request is one small write
        self._sock, self.connections = sock, self.connections + 1
        return sock

    def _recv_more(self, sock: socket.socket) -> bool:
        try:
            chunk = sock.recv(_RECV)
        except ConnectionResetError:
            chunk = b""
        self._buffer += chunk
        return bool(chunk)

    def _read_head(self, sock: socket.socket) -> tuple[int, int, bool]:
        """(status, body length, keep the connection) from the status line and headers."""
        while (end := self._buffer.find(_HEAD_END)) < 0:
            if not self._recv_more(sock):
                if self._buffer:
                    raise ResponseError(f"connection closed inside the headers: {bytes(self._buffer[:200])!r}")
                raise _ClosedBeforeReply
        head = bytes(self._buffer[:end])
        del self._buffer[: end + len(_HEAD_END)]
        status_line, *header_lines = head.split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise ResponseError(f"not an HTTP/1.x status line: {status_line[:200]!r}")
        status = int(code)
        length: int | None = None
        connection = b""
        for line in header_lines:
            name, sep, value = line.partition(b":")
            if not sep:
                raise ResponseError(f"malformed header line: {line[:200]!r}")
            name, value = name.strip().lower(), value.strip()
            if name == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise ResponseError(f"bad Content-Length: {value!r}")
                length = int(value)
            elif name == b"transfer-encoding":
                raise ResponseError(f"Transfer-Encoding {value.decode('latin-1')} is not framed by this client")
            elif name == b"connection":
                connection = value.lower()
        keep_alive = connection != b"close" and (version == b"HTTP/1.1" or connection == b"keep-alive")
        if status in _BODILESS or 100 <= status < 200:
            return status, 0, keep_alive
        if length is None:
            raise ResponseError(f"status {status} without Content-Length: a close-delimited body is not framed")
        return status, length, keep_alive

    def _read_body(self, sock: socket.socket, length: int) -> bytes:
        while len(self._buffer) < length:
            if not self._recv_more(sock):
                got = len(self._buffer)
                self.close()
                raise ResponseError(f"connection closed after {got} of {length} body bytes")
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body


class _ClosedBeforeReply(Exception):
    """The socket closed before any byte of a reply: on a reused connection, the server's idle close."""


# --- one cell, whichever client ---------------------------------------------------------------------------------


def load_cell(
    base_url: str,
    key: str,
    make_path: PathFactory,
    concurrency: int,
    *,
    client: str,
    expect_status: int = 200,
    duration_s: float,
    max_requests: int = 10**7,
    seed: int = 0,
    distinct_paths: int = 2000,
) -> dict[str, Any]:
    """One cell at `concurrency` for `duration_s` (or `max_requests`, aiohttp only): its LatencySummary, error
    kinds and client. `client` is "wrk" or "aiohttp" (`python -m bench` picks wrk when it is on PATH)."""
    if client == "wrk":
        return wrk_cell(
            base_url,
            key,
            make_path,
            concurrency,
            expect_status=expect_status,
            duration_s=duration_s,
            seed=seed,
            distinct_paths=distinct_paths,
        )
    cell = asyncio.run(
        run_cell(
            base_url,
            {"X-API-Key": key},
            make_path,
            concurrency,
            expect_status=expect_status,
            duration_s=duration_s,
            max_requests=max_requests,
            seed=seed,
        )
    )
    return {**cell.summary(), "error_kinds": dict(cell.errors), "client": "aiohttp"}
