"""SENTRY_DSN set: errors reach Sentry, scrubbed. Unset: nothing is sent, not even a client."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SCRIPT = """
import logging, sys, sentry_sdk
from kit import errortracking
enabled = errortracking.configure("tenant", sys.argv[1] or None, "test")
try:
    raise RuntimeError("lead +55 41 99123-4567 said token=s3cr3t-canary")
except RuntimeError:
    logging.getLogger("x").exception("failed for +5541991234567")
sentry_sdk.flush(5)
print("enabled" if enabled else "disabled", sentry_sdk.get_client().is_active())
"""


@pytest.fixture
def collector():
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()


def run(dsn: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, dsn], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_errors_are_reported_scrubbed(collector):
    port, received = collector
    assert run(f"http://publickey@127.0.0.1:{port}/42") == "enabled True"
    payload = b"".join(received).decode("utf-8", "replace")
    assert "RuntimeError" in payload
    assert "99123-4567" not in payload and "991234567" not in payload and "s3cr3t-canary" not in payload
    assert "***4567" in payload


def test_nothing_is_sent_without_a_dsn(collector):
    _, received = collector
    assert run("") == "disabled False"
    assert received == []
