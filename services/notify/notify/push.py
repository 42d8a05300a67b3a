"""Web push (VAPID) to dashboard users, and NotifyUser: push plus an optional WhatsApp text.

Pushes are HTTP calls, so they happen between two short transactions, never inside one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid
from pywebpush import WebPusher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notify import errors, metrics, service
from notify.config import Settings
from notify.models import PushSubscription
from notify.repository import PushRepository

log = logging.getLogger(__name__)
# Seller alerts sent over WhatsApp get message ids derived from this namespace, so a repeat is a no-op.
ALERT_NAMESPACE = uuid.UUID("6f1d7c1e-5b0a-4d35-9a53-0c6f3d3f8a11")


def http_client(settings: Settings) -> httpx.AsyncClient:
    """Web push's client: off the hot path, so it stays on httpx (the provider sends use aiohttp)."""
    timeout = httpx.Timeout(settings.http_total_timeout, connect=settings.http_connect_timeout)
    limits = httpx.Limits(max_connections=settings.sender_concurrency * 2, max_keepalive_connections=50)
    return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)


class Pusher:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.public_key = settings.vapid_public_key
        self.subject = settings.vapid_subject
        self.timeout = settings.push_timeout_seconds
        self.http = http
        self._vapid = Vapid.from_string(settings.vapid_private_key) if settings.vapid_private_key else None

    @property
    def enabled(self) -> bool:
        return self._vapid is not None

    async def send(self, subscription: PushSubscription, payload: bytes) -> str:
        """ "ok", "gone" (404/410: the browser dropped it) or "error"."""
        assert self._vapid is not None
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        try:
            body = WebPusher(info).encode(payload, "aes128gcm")["body"]
        except Exception:
            log.warning("push subscription %s has unusable keys", subscription.id)
            return "gone"
        url = urlsplit(subscription.endpoint)
        claims = {
            "sub": self.subject,
            "aud": f"{url.scheme}://{url.netloc}",
            "exp": int(time.time()) + 12 * 3600,
        }
        headers = {
            **self._vapid.sign(claims),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": "86400",
            "Urgency": "high",
        }
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.http.post(subscription.endpoint, content=body, headers=headers)
        except (TimeoutError, httpx.HTTPError) as error:
            log.warning("push to subscription %s failed: %s", subscription.id, type(error).__name__)
            return "error"
        if response.status_code in (404, 410):
            return "gone"
        return "ok" if 200 <= response.status_code < 300 else "error"


@dataclass(frozen=True)
class UserNotice:
    tenant_id: str
    user_id: str
    title: str
    body: str
    url: str = ""
    data: dict[str, str] = field(default_factory=dict)
    notification_id: str = ""
    whatsapp_phone: str = ""
    channel_id: str = ""


@dataclass(frozen=True)
class NoticeResult:
    pushed: int = 0
    pruned: int = 0
    failed: int = 0
    delivery_id: str = ""
    duplicate: bool = False


def alert_message_id(notice: UserNotice) -> uuid.UUID:
    key = notice.notification_id or f"{notice.title}\n{notice.body}\n{notice.url}"
    return uuid.uuid5(ALERT_NAMESPACE, f"{notice.tenant_id}:{notice.user_id}:{key}")


async def _prepare(session: AsyncSession, notice: UserNotice) -> tuple[bool, list[PushSubscription], str]:
    tenant, user = (
        service.parse_id(notice.tenant_id, "tenant_id"),
        service.parse_id(notice.user_id, "user_id"),
    )
    if not notice.title.strip():
        raise errors.MissingField("title")
    pushes = PushRepository(session)
    if notice.notification_id and not await pushes.first_notification(tenant, user, notice.notification_id):
        return False, [], ""
    delivery_id = ""
    if notice.whatsapp_phone:
        text = "\n".join(part for part in (f"*{notice.title}*", notice.body, notice.url) if part)
        out = service.Outbound(
            tenant_id=notice.tenant_id, message_id=str(alert_message_id(notice)),
            channel_id=notice.channel_id, recipient=notice.whatsapp_phone, text=text, source="seller_alert",
        )  # fmt: skip
        delivery_id = (await service.queue_message(session, out)).delivery_id
    return True, await pushes.for_user(tenant, user), delivery_id


async def notify_user(
    sessions: async_sessionmaker[AsyncSession], pusher: Pusher | None, notice: UserNotice
) -> NoticeResult:
    async with sessions.begin() as session:
        first, subscriptions, delivery_id = await _prepare(session, notice)
    if not first:
        return NoticeResult(duplicate=True)
    if pusher is None or not pusher.enabled or not subscriptions:
        return NoticeResult(delivery_id=delivery_id)
    payload = json.dumps(
        {"title": notice.title, "body": notice.body, "url": notice.url, "data": notice.data},
        ensure_ascii=False,
    ).encode()
    outcomes = await asyncio.gather(*(pusher.send(s, payload) for s in subscriptions))
    by = {
        o: [s.id for s, out in zip(subscriptions, outcomes, strict=True) if out == o]
        for o in ("ok", "gone", "error")
    }
    for outcome, ids in by.items():
        metrics.PUSHES.labels(outcome).inc(len(ids))
    tenant = uuid.UUID(notice.tenant_id)
    async with sessions.begin() as session:
        pushes = PushRepository(session)
        if by["gone"]:
            await pushes.delete_ids(tenant, by["gone"])
        if by["ok"]:
            await pushes.touch(tenant, by["ok"])
    return NoticeResult(len(by["ok"]), len(by["gone"]), len(by["error"]), delivery_id)
