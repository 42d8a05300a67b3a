"""The gateway's HTTP server: uvicorn (httptools on uvloop) with one change, to how it writes.

uvicorn writes a response's head and its body with two transport writes, so every answer costs two
send() calls and reaches the client as two TCP segments; on loopback each send also runs the
receiving side's TCP path in the sender's time. Those two writes were about a tenth of the gateway's
CPU at full load (py-spy). Here the writes one connection makes during one event-loop step are joined
and sent once, right after that step (`call_soon`): a webhook's answer leaves as one segment. A
streamed response (the live events) still leaves chunk by chunk, each in the step that wrote it.

`proxy_headers` is off: the gateway does not trust X-Forwarded-For (see `gateway.auth.source_ip`), and
uvicorn's default would believe it from 127.0.0.1, or from whatever FORWARDED_ALLOW_IPS names.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose writes within one loop step go out as one write, at the end of the step."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self._pending)) + self._transport.get_write_buffer_size()

    def close(self) -> None:
        self.flush()  # what was written before close() is sent before the FIN, as without us
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, …
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]


def config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The gateway's server settings; `options` adds or overrides uvicorn.Config's."""
    settings: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
        "loop": "auto",  # uvloop, which is installed
        "http": CoalescingHttpToolsProtocol,
    }
    return uvicorn.Config(app, host=host, port=port, **(settings | options))
