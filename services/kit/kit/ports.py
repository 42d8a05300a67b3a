"""Ports for servers this project starts itself (test servers, the bench's stack, a local Postgres)."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

# Ports free_port() handed out in this process: never the same one twice.
_HANDED_PORTS: set[int] = set()
_LOWEST_PORT = 10_000


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections (32768 unless configured)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A port on 127.0.0.1, free now, for a server that binds it a moment later (a child process).

    Taken below the kernel's range for outgoing connections: binding port 0 hands out a port from
    that range, and any connection opened meanwhile may take it as its local port, so the server
    then fails with "address already in use" (seen in CI: a gateway replica's port taken that way).
    """
    high = _ephemeral_low()
    if high - _LOWEST_PORT < 1_000:  # an unusual range: fall back to the kernel's choice
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for _ in range(1_000):
        port = secrets.randbelow(high - _LOWEST_PORT) + _LOWEST_PORT
        if port in _HANDED_PORTS:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_PORTS.add(port)
        return port
    raise RuntimeError(f"no free port found between {_LOWEST_PORT} and {high}")
