"""Webhook authenticity checks. Every comparison is constant-time and an empty secret never passes.

Meta signs the exact request bytes, so callers must pass the raw body (`await request.body()`), not
a re-serialised JSON: a changed space or a different escaping of `ã` changes the digest.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from string import hexdigits

META_SIGNATURE_HEADER = "X-Hub-Signature-256"
_SHA256_HEX_LEN = 64
_HEX = frozenset(hexdigits)


def meta_signature(body: bytes, app_secret: str) -> str:
    """The header value Meta would send for `body`; used by tests and the load generator."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_meta_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    if not app_secret or not header:
        return False
    scheme, sep, presented = header.strip().partition("=")
    presented = presented.strip().lower()
    if sep != "=" or scheme.strip().lower() != "sha256":
        return False
    if len(presented) != _SHA256_HEX_LEN or not set(presented) <= _HEX:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, presented)


def verify_secret(presented: str | None, expected: str) -> bool:
    """Constant-time equality of a shared secret; URL tokens and static headers alike."""
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def verify_url_token(presented: str | None, expected: str) -> bool:
    """Z-API and Gupshup don't sign: the unguessable per-channel token in the webhook URL is the proof."""
    return verify_secret(presented, expected)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works on a plain dict (Starlette's Headers already is)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify_dialog360_header(headers: Mapping[str, str], header_name: str, secret: str) -> bool:
    """360dialog forwards the static header configured with the webhook URL; it must match exactly."""
    if not header_name:
        return False
    return verify_secret(header_value(headers, header_name), secret)


def meta_handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """The GET subscription handshake: the challenge to echo back, or None to refuse (403)."""
    mode = params.get("hub.mode")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or not challenge:
        return None
    return challenge if verify_secret(params.get("hub.verify_token"), verify_token) else None
