"""The request handler every fake HTTP server here builds on."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, no access log, Nagle off. http.server writes an answer's head and body
    in two sends: with Nagle on, the body waits for the client's delayed ACK of the head, 40 ms per
    answer on loopback, where a real provider or model API answers at once."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass
