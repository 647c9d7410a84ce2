"""The sender checks the address again at the connection (DNS rebinding), follows no redirect, caps the answer."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from stores.webhook_sender import SendPolicy, post


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", "http://10.0.0.1/")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x" * 1_000_000)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


LOCAL = SendPolicy(allow_loopback=True, max_response_bytes=1024)


def test_a_name_that_now_resolves_to_a_private_address_is_not_contacted(server: int) -> None:
    # A name that resolved to a public address at subscription now resolves to a private one.
    result = post(f"http://hooks.example.org:{server}/", b"{}", {}, LOCAL, resolve=lambda h, p: ["10.0.0.1"])
    assert result.status is None and result.error is not None and "private" in result.error


def test_the_resolved_and_checked_address_is_the_one_connected_to(server: int) -> None:
    result = post(f"http://hooks.example.org:{server}/", b"{}", {}, LOCAL, resolve=lambda h, p: ["127.0.0.1"])
    assert result.ok and result.status == 200  # a 1 MB answer, of which 1 KiB is read


def test_a_redirect_is_an_answer_never_followed(server: int) -> None:
    result = post(f"http://127.0.0.1:{server}/redirect", b"{}", {}, LOCAL)
    assert (result.status, result.ok, result.error) == (307, False, "redirect 307 not followed")


def test_loopback_is_refused_without_the_local_setting(server: int) -> None:
    result = post(f"https://127.0.0.1:{server}/", b"{}", {}, SendPolicy())
    assert result.status is None and "loopback" in str(result.error)
