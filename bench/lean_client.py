"""A lean HTTP/1.1 client for sequential timed GETs: one keep-alive socket, the response framed by hand.

Why: the paired cells compare the API's p50 over HTTP with the on-demand path's p50 in process, so the client's
own cost lands on the API side only. http.client parses every header block with email.parser (~0.1 ms a request,
as much as a cached point read costs the server). This client sends fixed request bytes and reads the status
line, the headers it needs and exactly Content-Length body bytes; it checks what it gets (a status line, a
well-formed Content-Length, every body byte before the socket closes) and refuses what it does not frame
(chunked or close-delimited bodies) with ResponseError rather than timing a partial answer.
"""

from __future__ import annotations

import socket
from typing import NamedTuple
from urllib.parse import urlsplit

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
