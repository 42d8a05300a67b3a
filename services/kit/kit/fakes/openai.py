"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

Tests queue what the next requests get (text, tool calls, broken tool-call JSON, error statuses,
429 with Retry-After, delays, hangs) and read back every request received, so the real ``openai``
client is exercised over real HTTP. Runs the stdlib server in a thread: usable from sync and async
tests alike.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from kit.fakes.handler import QuietHandler


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools", [])]

    def text(self) -> str:
        """Every message's content joined: what the model was shown."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


@dataclass
class Answer:
    """One scripted answer. `status` ≠ 200 answers an error body; `hang` never answers."""

    status: int = 200
    content: str | None = None
    # (name, arguments) where arguments is a dict (sent as JSON) or a raw string (sent verbatim).
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    prompt_tokens: int = 100
    completion_tokens: int = 20


Script = Answer | Callable[[Recorded], Answer]


def text(content: str, **kw: Any) -> Answer:
    return Answer(content=content, **kw)


def tool_calls(*calls: tuple[str, dict[str, Any] | str], **kw: Any) -> Answer:
    return Answer(tool_calls=list(calls), **kw)


def status(code: int, *, retry_after: float | None = None, **kw: Any) -> Answer:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return Answer(status=code, headers=headers, **kw)


def hang() -> Answer:
    return Answer(hang=True)


def completion(answer: Answer, model: str) -> dict[str, Any]:
    calls = [
        {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
        }
        for name, args in answer.tool_calls
    ]
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        },
    }


class FakeOpenAI:
    """``with FakeOpenAI() as fake: fake.queue(text("Olá")); AsyncOpenAI(base_url=fake.base_url)``."""

    def __init__(self, default: Script | None = None) -> None:
        self.default: Script = default or text("Olá! Como posso ajudar?")
        self.requests: list[Recorded] = []
        self._script: deque[Script] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def queue(self, *answers: Script) -> None:
        with self._lock:
            self._script.extend(answers)

    def clear(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # hung handlers return, so shutdown does not wait on them
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, recorded: Recorded) -> Answer:
        with self._lock:
            self.requests.append(recorded)
            script = self._script.popleft() if self._script else self.default
        return script(recorded) if callable(script) else script

    def _handler(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                body = json.loads(raw or b"{}")
                recorded = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                answer = fake._next(recorded)
                if answer.hang:
                    fake._released.wait(120)
                    return
                if answer.delay:
                    fake._released.wait(answer.delay)
                if answer.status == 200:
                    payload = completion(answer, str(body.get("model", "")))
                else:
                    payload = {"error": {"message": f"fake error {answer.status}", "type": "server_error"}}
                self._send(answer.status, payload, answer.headers)

            def _send(self, code: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): exactly what some tests provoke

        return Handler
