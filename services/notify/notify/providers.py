"""The four providers' send APIs: how a request is built and what an answer means. Pure functions.

Wire formats from reference/whatsapp-providers.md (§1.6 Meta, §2.6 360dialog, §3.5 Gupshup, §4.5 Z-API).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

PROVIDERS = ("zapi", "dialog360", "gupshup", "meta")
# Providers bound by WhatsApp's 24-hour customer-service window (Z-API is a WhatsApp Web session).
WINDOWED = frozenset({"dialog360", "gupshup", "meta"})
OUTSIDE_WINDOW = "outside_24h_window"
# Provider error codes that mean "too fast / try later" even when the HTTP status is a 4xx.
RETRYABLE_CODES = frozenset(
    {"4", "80007", "130429", "131000", "131016", "131056", "131057", "133004", "4001"}
)
# "More than 24 hours since the customer last replied": Meta/360dialog 131047, Gupshup 470.
WINDOW_CODES = frozenset({"131047", "470"})


@dataclass(frozen=True)
class Channel:
    id: str
    tenant_id: str
    provider: str
    external_id: str
    phone_number: str
    active: bool
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None


@dataclass(frozen=True)
class Result:
    """What one attempt achieved: "sent", "retry" (transient) or "failed" (permanent)."""

    outcome: str
    provider_message_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    http_status: int | None = None
    retry_after: float | None = None


def digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def build_request(
    channel: Channel, base_url: str, recipient: str, text: str, template: Template | None
) -> Request:
    builders = {"zapi": _zapi, "dialog360": _dialog360, "gupshup": _gupshup, "meta": _meta}
    return builders[channel.provider](channel, base_url, recipient, text, template)


def _zapi(channel: Channel, base: str, recipient: str, text: str, template: Template | None) -> Request:
    headers = {"Content-Type": "application/json"}
    if channel.secrets.get("client_token"):
        headers["Client-Token"] = channel.secrets["client_token"]
    token = channel.secrets.get("token", "")
    # A Z-API @lid chat id cannot be turned into a number; it is sent as it is.
    phone = recipient if "@" in recipient else digits(recipient)
    url = f"{base}/instances/{channel.external_id}/token/{token}/send-text"
    return Request(url, headers, json={"phone": phone, "message": text})


def _cloud_body(to: str, text: str, template: Template | None) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
    if template is None:
        return {**body, "type": "text", "text": {"preview_url": False, "body": text}}
    components = []
    if template.params:
        parameters = [{"type": "text", "text": p} for p in template.params]
        components.append({"type": "body", "parameters": parameters})
    spec = {"name": template.name, "language": {"code": template.language}, "components": components}
    return {**body, "type": "template", "template": spec}


def _dialog360(channel: Channel, base: str, recipient: str, text: str, template: Template | None) -> Request:
    headers = {"D360-API-KEY": channel.secrets.get("api_key", ""), "Content-Type": "application/json"}
    return Request(f"{base}/messages", headers, json=_cloud_body(digits(recipient), text, template))


def _meta(channel: Channel, base: str, recipient: str, text: str, template: Template | None) -> Request:
    headers = {
        "Authorization": f"Bearer {channel.secrets.get('access_token', '')}",
        "Content-Type": "application/json",
    }
    body = _cloud_body("+" + digits(recipient), text, template)
    return Request(f"{base}/{channel.external_id}/messages", headers, json=body)


def _gupshup(channel: Channel, base: str, recipient: str, text: str, template: Template | None) -> Request:
    headers = {"apikey": channel.secrets.get("api_key", "")}
    form = {
        "channel": "whatsapp",
        "source": digits(channel.phone_number),
        "destination": digits(recipient),
        "src.name": channel.external_id,
    }
    if template is None:
        message = {"type": "text", "text": text, "previewUrl": False}
        return Request(f"{base}/wa/api/v1/msg", headers, form={**form, "message": json.dumps(message)})
    # Gupshup addresses an approved template by its id.
    spec = {"id": template.name, "params": list(template.params)}
    return Request(f"{base}/wa/api/v1/template/msg", headers, form={**form, "template": json.dumps(spec)})


def message_id(provider: str, body: Any) -> str | None:
    """The provider's id for the message it accepted, from its success body."""
    if not isinstance(body, dict):
        return None
    if provider in ("meta", "dialog360"):
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        value = first.get("id") if isinstance(first, dict) else None
    elif provider == "gupshup":
        value = body.get("messageId") if body.get("status") != "error" else None
    else:
        value = body.get("messageId") or body.get("id")
    return value if isinstance(value, str) and value else None


def error_detail(body: Any) -> tuple[str | None, str]:
    """(provider error code, human reason) from any of the four providers' error bodies."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            return (str(code) if code is not None else None), str(
                error.get("message") or error.get("title") or ""
            )
        if isinstance(error, str):
            return None, error
        if body.get("message") or body.get("code") is not None:
            code = body.get("code")
            return (str(code) if code is not None else None), str(body.get("message") or "")
    return None, ""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(provider: str, status: int, headers: dict[str, str], raw: bytes) -> Result:
    body = _json(raw)
    if 200 <= status < 300:
        found = message_id(provider, body)
        if found:
            return Result("sent", provider_message_id=found, http_status=status)
        return Result("retry", error=f"http {status}: unreadable answer (no message id)", http_status=status)
    if 300 <= status < 400:
        where = headers.get("location", "")
        return Result(
            "retry", error=f"http {status}: unexpected redirect to {where[:200]}", http_status=status
        )
    code, reason = error_detail(body)
    error = f"http {status}: {reason or 'no reason given'}"[:1000]
    retry_after = parse_retry_after(headers.get("retry-after"))
    if code in WINDOW_CODES:
        return Result("failed", error=f"{OUTSIDE_WINDOW}: {reason}", error_code=code, http_status=status)
    if status in (408, 425, 429) or status >= 500 or code in RETRYABLE_CODES:
        return Result("retry", error=error, error_code=code, http_status=status, retry_after=retry_after)
    return Result("failed", error=error, error_code=code, http_status=status)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
