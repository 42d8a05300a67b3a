"""gateway.httpserver: one send per loop step per connection, nothing lost or reordered."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.httpserver import CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """Stands in for the socket's transport: records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.sent.append(bytes(data))
        self.events.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555)}.get(name, default)


async def test_the_writes_of_one_step_leave_as_one_write_after_it() -> None:
    raw = RecordingTransport()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"ok")
    assert raw.sent == [] and transport.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert raw.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    # The next step's writes are the next send, in order.
    transport.writelines([b"a", bytearray(b"b"), memoryview(b"c")])
    await asyncio.sleep(0)
    transport.write(b"d")
    await asyncio.sleep(0)
    assert raw.sent[1:] == [b"abc", b"d"]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5555)


async def test_close_sends_what_was_written_first() -> None:
    raw = RecordingTransport()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert raw.events == ["write", "close"] and raw.sent == [b"last words"]
    await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
    assert raw.sent == [b"last words"]


async def test_nothing_is_written_to_a_transport_closed_meanwhile() -> None:
    raw = RecordingTransport()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())
    transport.write(b"too late")
    raw.closing = True  # the peer went away before the step ended
    await asyncio.sleep(0)
    assert raw.sent == []
