"""One language worker process (`python -m devhost.worker --app module:attr`), as the Functions host starts
`worker.py` once per FUNCTIONS_WORKER_PROCESS_COUNT: it imports the app once (so its module-level clients are
built once per process), then runs the activity invocations the host sends on a thread pool.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a JSON object. Host → worker:
`{"id", "name", "input", "client"}` (the activity's durable name, its JSON input text and the durableClient
binding JSON an activity with a client input gets). Worker → host: first
`{"ready": pid}` or `{"init_error": text}`, then `{"id", "output"}` or `{"id", "error": {type, message, details}}`.
The app's own prints go to stderr (the host's log), never into the protocol stream.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import struct
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

_HEADER = struct.Struct(">I")
PARENT_POLL_SECONDS = 0.2


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return _HEADER.pack(len(body)) + body


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at end of stream (the host closed the pipe or is gone)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    message: dict[str, Any] = json.loads(body)
    return message


def error_payload(exc: BaseException) -> dict[str, str]:
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "details": "".join(traceback.format_exception(exc)).strip(),
    }


class _Replies:
    """The protocol's write side: one frame at a time from the invocation threads."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        frame = encode_frame(message)
        with self._lock:
            self._stream.write(frame)
            self._stream.flush()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_with_host(host_pid: int) -> None:
    """A killed host (kill -9) must not leave its workers running: exit as soon as the host is gone, seen as
    this process being re-parented or the host's pid gone. (End of stdin is not enough: an invocation in
    progress would finish first.)"""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent and _alive(host_pid):
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="devhost-worker-parent-watch", daemon=True).start()


def _invoke(replies: _Replies, activities: dict[str, Any], message: dict[str, Any]) -> None:
    from devhost.invoke import run_activity

    info = activities.get(str(message["name"]).lower())
    try:
        if info is None:
            raise LookupError(f"The function '{message['name']}' doesn't exist")
        output = run_activity(info, message["input"], message.get("client"))
        replies.send({"id": message["id"], "output": output})
    except Exception as exc:
        replies.send({"id": message["id"], "error": error_payload(exc)})


def serve(app_spec: str, threads: int | None, requests: IO[bytes], replies: _Replies) -> int:
    try:
        from devhost.functions import activity_functions, load_app

        activities = activity_functions(load_app(app_spec))
    except BaseException as exc:  # the host reports it on every activity this worker was to run
        replies.send({"init_error": error_payload(exc)["details"]})
        return 1
    replies.send({"ready": os.getpid()})
    # The worker's sync-invocation pool (PYTHON_THREADPOOL_THREAD_COUNT; unset: Python's default size).
    with ThreadPoolExecutor(threads, thread_name_prefix="devhost-worker-invocation") as pool:
        while (message := read_frame(requests)) is not None:
            pool.submit(_invoke, replies, activities, message)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost.worker", description=__doc__)
    parser.add_argument("--app", required=True, help="module:attr of the FunctionApp")
    parser.add_argument("--threads", type=int, default=None, help="invocation threads (default: Python's)")
    parser.add_argument("--parent-pid", type=int, default=None, help="the host: exit when it is gone")
    args = parser.parse_args(argv)
    # stdout carries the protocol: keep a private handle on it and send everything else printed to stderr.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s worker-{os.getpid()} %(name)s: %(message)s"
    )
    _exit_with_host(args.parent_pid if args.parent_pid is not None else os.getppid())
    return serve(args.app, args.threads, sys.stdin.buffer, _Replies(protocol_out))


if __name__ == "__main__":
    raise SystemExit(main())
