"""A scriptable fake of the four WhatsApp providers' send APIs and a web-push endpoint, on 127.0.0.1.

Point the notify service's base URLs at it (``zapi_base_url``, ``dialog360_base_url``,
``gupshup_base_url``, ``meta_base_url``, ``push_endpoint(name)``); it records every request (path,
headers, body) and answers in each provider's real response shape with fresh message ids. Tests script
what the next requests of a kind get: error statuses with the provider's error body, 429 with
Retry-After, delays, hangs, redirects, garbage. Runs the stdlib server in a thread.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from kit.fakes.handler import QuietHandler

META_VERSION = "v24.0"
KINDS = ("zapi", "dialog360", "gupshup", "meta", "push")


@dataclass
class Recorded:
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body.decode())

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Answer:
    """One scripted answer. Without `body`, a success answers the provider's real shape."""

    status: int = 200
    body: bytes | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False


def status(
    code: int, body: dict[str, Any] | bytes | None = None, *, retry_after: str | None = None
) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Answer(
        status=code, body=body if body is not None else {"error": f"status {code}"}, headers=headers
    )


def hang() -> Answer:
    return Answer(hang=True)


def delay(seconds: float) -> Answer:
    return Answer(delay=seconds)


def redirect(location: str = "https://elsewhere.example/") -> Answer:
    return Answer(status=302, body=b"", headers={"Location": location})


def garbage(code: int = 200) -> Answer:
    return Answer(status=code, body=b"<html>\x00\xff not json", headers={"Content-Type": "text/html"})


def meta_error(code: int, message: str, http: int = 400) -> Answer:
    """Meta / 360dialog (Cloud API) error body."""
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1b2C3"}
    return Answer(status=http, body={"error": error})


def gupshup_error(message: str, http: int = 400) -> Answer:
    return Answer(status=http, body={"status": "error", "message": message})


def zapi_error(message: str, http: int = 400) -> Answer:
    return Answer(status=http, body={"error": message})


def kind_of(path: str) -> str:
    if path.startswith("/push/"):
        return "push"
    if re.fullmatch(r"/instances/[^/]+/token/[^/]+/send-text", path):
        return "zapi"
    if path in ("/wa/api/v1/msg", "/wa/api/v1/template/msg"):
        return "gupshup"
    if path == "/messages":
        return "dialog360"
    if re.fullmatch(r"/v\d+\.\d+/[^/]+/messages", path):
        return "meta"
    return "unknown"


def success_body(kind: str) -> dict[str, Any] | None:
    wamid = f"wamid.{uuid.uuid4().hex}"
    if kind in ("meta", "dialog360"):
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "x", "wa_id": "x"}],
            "messages": [{"id": wamid}],
        }
    if kind == "gupshup":
        return {"status": "submitted", "messageId": str(uuid.uuid4())}
    if kind == "zapi":
        mid = uuid.uuid4().hex.upper()
        return {"zaapId": uuid.uuid4().hex.upper(), "messageId": mid, "id": mid}
    return None


class FakeProviders:
    """``with FakeProviders() as fake: fake.queue("meta", status(500))``, then point the client at
    ``fake.meta_base_url`` (or the other providers' base URLs)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: dict[str, deque[Answer]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-providers", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    zapi_base_url = dialog360_base_url = gupshup_base_url = base_url

    @property
    def meta_base_url(self) -> str:
        return f"{self.base_url}/{META_VERSION}"

    def push_endpoint(self, name: str | None = None) -> str:
        return f"{self.base_url}/push/{name or uuid.uuid4().hex}"

    def queue(self, key: str, *answers: Answer) -> None:
        """`key` is a kind (zapi, dialog360, gupshup, meta, push) or an exact path (which wins)."""
        with self._lock:
            self._script[key].extend(answers)

    def received(self, kind: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (kind is None or r.kind == kind) and (path is None or r.path == path)
            ]

    def clear(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def start(self) -> FakeProviders:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, recorded: Recorded) -> Answer:
        with self._lock:
            self.requests.append(recorded)
            for key in (recorded.path, recorded.kind):
                if self._script.get(key):
                    return self._script[key].popleft()
        return Answer(status=201) if recorded.kind == "push" else Answer()

    def _handler(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                kind = kind_of(self.path)
                answer = fake._next(Recorded(kind, "POST", self.path, headers, body, time.monotonic()))
                if answer.hang:
                    fake._released.wait(120)
                    return
                if answer.delay:
                    time.sleep(answer.delay)
                self._answer(kind, answer)

            def _answer(self, kind: str, answer: Answer) -> None:
                payload = (
                    answer.body
                    if answer.body is not None
                    else success_body(kind)
                    if answer.status < 300
                    else None
                )
                raw = (
                    payload
                    if isinstance(payload, bytes)
                    else b""
                    if payload is None
                    else json.dumps(payload).encode()
                )
                self.send_response(answer.status)
                if "Content-Type" not in answer.headers and raw:
                    self.send_header("Content-Type", "application/json")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
