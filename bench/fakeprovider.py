"""What the reply-path phase talks to that we do not own, in a process of its own so the load
generator and the orchestrator never share its GIL: the WhatsApp providers' send APIs and a
zero-latency OpenAI-compatible model (``POST /v1/chat/completions``, always the same short answer).

    python bench/fakeprovider.py PORT

Every send is answered at once in the provider's real shape with a fresh message id (the shapes come
from kit.fakes.providers) and recorded as (recipient, time.time() on receipt, kind). ``GET /records``
returns what was recorded so far as JSON. A model request is answered, not recorded.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from kit.fakes.handler import QuietHandler
from kit.fakes.openai import completion, text
from kit.fakes.providers import kind_of, success_body

RECORDS: list[tuple[str, float, str]] = []
LOCK = threading.Lock()
# What a model would say to a lead's first message: a greeting and the first qualifying question.
MODEL_ANSWER = (
    "Olá! Obrigado pelo contato. Para eu separar as melhores opções: você procura para comprar ou "
    "alugar, e em qual bairro?"
)


def recipient(kind: str, body: bytes) -> str:
    """The addressee's phone, whatever the provider's body shape."""
    try:
        if kind == "gupshup":
            return parse_qs(body.decode()).get("destination", [""])[0]
        payload: dict[str, Any] = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    return str(payload.get("phone") or payload.get("to") or "")


class Handler(QuietHandler):
    def do_POST(self) -> None:
        at = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.endswith("/chat/completions"):
            model = str(json.loads(body or b"{}").get("model", ""))
            self._json(200, completion(text(MODEL_ANSWER, prompt_tokens=len(body) // 4), model))
            return
        kind = kind_of(self.path)
        with LOCK:
            RECORDS.append((recipient(kind, body), at, kind))
        self._json(201 if kind == "push" else 200, success_body(kind) or {})

    def do_GET(self) -> None:
        with LOCK:
            records = list(RECORDS)
        self._json(200, {"records": records} if self.path == "/records" else {"ok": True})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
