"""Use cases for a tenant's settings: WhatsApp channels and versioned AI settings.

They run inside the caller's transaction and never commit. Secrets are encrypted before they reach a
model object and only leave decrypted through `channel_credentials` (role "service").
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from kit.config import DEV_SECRET_KEY
from kit.errors import AlreadyExists, InvalidArgument, NotFound
from tenant import audit, authz, domain
from tenant.ai_settings import defaults_for, diff, validate
from tenant.crypto import SecretBox, mask
from tenant.models_catalog import AiSettingsVersion, ChannelConfig
from tenant.repository import TenantRepository, UserRepository
from tenant.repository_catalog import AiSettingsRepository, ChannelConfigRepository

# Per provider: the secrets it needs, then the optional ones.
SECRETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "zapi": (("token",), ("client_token",)),
    # webhook_secret: the static header 360dialog sends with each webhook (we configure it there).
    "dialog360": (("api_key",), ("webhook_secret",)),
    "gupshup": (("api_key",), ()),
    "meta": (("access_token", "app_secret"), ("verify_token",)),
}


class ChannelMissing(NotFound):
    def __init__(self) -> None:
        super().__init__("channel not found")


@dataclass(frozen=True)
class ChannelView:
    channel: ChannelConfig
    masked_secrets: dict[str, str]
    webhook_path: str


def _view(box: SecretBox, channel: ChannelConfig) -> ChannelView:
    secrets = box.decrypt_json(channel.secrets_encrypted)
    token = box.decrypt(channel.webhook_token_encrypted) if channel.webhook_token_encrypted else ""
    path = f"/api/v1/webhook/{channel.provider}/{token}" if token else ""
    return ChannelView(channel, {k: mask(v) for k, v in secrets.items()}, path)


def _check_secrets(provider: str, secrets: dict[str, str], *, creating: bool) -> dict[str, str]:
    required, optional = SECRETS[provider]
    unknown = sorted(set(secrets) - set(required) - set(optional))
    if unknown:
        raise InvalidArgument(
            f"secrets: {', '.join(unknown)} not used by {provider} (use {', '.join(required + optional)})"
        )
    cleaned = {k: v.strip() for k, v in secrets.items() if v.strip()}
    missing = [k for k in required if k not in cleaned]
    if creating and missing:
        raise InvalidArgument(f"secrets: {provider} needs {', '.join(missing)}")
    return cleaned


def _check_identity(external_id: str, phone_number: str, name: str) -> None:
    if not external_id.strip() or len(external_id) > 200:
        raise InvalidArgument(
            "external_id must have 1 to 200 characters (instance id, phone_number_id or app name)"
        )
    digits = phone_number.lstrip("+")
    if phone_number and (not digits.isdigit() or not 10 <= len(digits) <= 15):
        raise InvalidArgument("phone_number must be 10 to 15 digits in international format (5541999990000)")
    if len(name) > 100:
        raise InvalidArgument("name must have at most 100 characters")


def _set_token(box: SecretBox, channel: ChannelConfig) -> None:
    token = domain.new_webhook_token()
    channel.webhook_token_hash = domain.token_hash(token)
    channel.webhook_token_encrypted = box.encrypt(token)


async def create_channel(
    session: AsyncSession,
    box: SecretBox,
    tenant_id: uuid.UUID,
    *,
    provider: str,
    name: str,
    external_id: str,
    phone_number: str,
    secrets: dict[str, str],
) -> ChannelView:
    if provider not in SECRETS:
        raise InvalidArgument(f"provider must be one of {', '.join(SECRETS)}")
    _check_identity(external_id, phone_number, name)
    cleaned = _check_secrets(provider, secrets, creating=True)
    if provider == "meta" and "verify_token" not in cleaned:
        cleaned["verify_token"] = domain.new_webhook_token()
    if await TenantRepository(session).get(tenant_id) is None:
        raise authz.OutOfScope()
    channel = ChannelConfig(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        provider=provider,
        name=name.strip(),
        external_id=external_id.strip(),
        phone_number=phone_number.lstrip("+"),
        active=True,
        secrets_encrypted=box.encrypt_json(cleaned),
    )
    _set_token(box, channel)
    if not await ChannelConfigRepository(session).save(channel):
        raise AlreadyExists(f"a {provider} channel with external_id {external_id!r} already exists")
    await _audit(session, "channel.create", channel, {"provider": provider, "secrets_set": sorted(cleaned)})
    return _view(box, channel)


async def _audit(
    session: AsyncSession, action: str, channel: ChannelConfig, details: dict[str, object]
) -> None:
    await audit.record(
        session,
        action,
        tenant_id=channel.tenant_id,
        target_type="channel",
        target_id=channel.id,
        details=details,
    )


async def _channel(session: AsyncSession, tenant_id: uuid.UUID | None, channel_id: str) -> ChannelConfig:
    try:
        parsed = uuid.UUID(channel_id)
    except (ValueError, TypeError):
        raise ChannelMissing() from None
    channel = await ChannelConfigRepository(session).get(parsed, tenant_id)
    if channel is None:
        raise ChannelMissing()
    return channel


async def list_channels(session: AsyncSession, box: SecretBox, tenant_id: uuid.UUID) -> list[ChannelView]:
    return [_view(box, c) for c in await ChannelConfigRepository(session).list(tenant_id)]


async def get_channel(
    session: AsyncSession, box: SecretBox, tenant_id: uuid.UUID, channel_id: str
) -> ChannelView:
    return _view(box, await _channel(session, tenant_id, channel_id))


async def update_channel(
    session: AsyncSession,
    box: SecretBox,
    tenant_id: uuid.UUID,
    channel_id: str,
    changes: dict[str, Any],
    secrets: dict[str, str],
) -> ChannelView:
    channel = await _channel(session, tenant_id, channel_id)
    for key in ("name", "external_id", "phone_number"):
        if key in changes:
            changes[key] = (
                str(changes[key]).strip().lstrip("+") if key == "phone_number" else str(changes[key]).strip()
            )
    _check_identity(
        changes.get("external_id", channel.external_id),
        changes.get("phone_number", channel.phone_number),
        changes.get("name", channel.name),
    )
    for key, value in changes.items():
        setattr(channel, key, value)
    if secrets:
        merged = {
            **box.decrypt_json(channel.secrets_encrypted),
            **_check_secrets(channel.provider, secrets, creating=False),
        }
        channel.secrets_encrypted = box.encrypt_json(merged)
    channel.updated_at = func.now()  # type: ignore[assignment]
    if not await ChannelConfigRepository(session).save(channel):
        raise AlreadyExists(f"a {channel.provider} channel with this external_id already exists")
    await _audit(
        session, "channel.update", channel, {"fields": sorted(changes), "secrets_changed": sorted(secrets)}
    )
    return _view(box, channel)


async def delete_channel(session: AsyncSession, tenant_id: uuid.UUID, channel_id: str) -> None:
    channel = await _channel(session, tenant_id, channel_id)
    await _audit(session, "channel.delete", channel, {"provider": channel.provider})
    await ChannelConfigRepository(session).delete(channel)


async def rotate_token(
    session: AsyncSession, box: SecretBox, tenant_id: uuid.UUID, channel_id: str
) -> ChannelView:
    """The old webhook URL stops working at once; the provider must be given the new one."""
    channel = await _channel(session, tenant_id, channel_id)
    _set_token(box, channel)
    channel.updated_at = func.now()  # type: ignore[assignment]
    await ChannelConfigRepository(session).save(channel)
    await _audit(session, "channel.rotate_token", channel, {})
    return _view(box, channel)


async def channel_credentials(
    session: AsyncSession, box: SecretBox, channel_id: str
) -> tuple[ChannelView, dict[str, str]]:
    channel = await _channel(session, None, channel_id)
    return _view(box, channel), box.decrypt_json(channel.secrets_encrypted)


# Secrets the gateway may hold to authenticate webhooks (never the sending credentials).
VERIFICATION_SECRETS = ("app_secret", "verify_token", "webhook_secret")


async def webhook_verification(session: AsyncSession, box: SecretBox, channel_id: str) -> dict[str, str]:
    channel = await _channel(session, None, channel_id)
    return verification_secrets(box, channel.secrets_encrypted)


def verification_secrets(box: SecretBox, secrets_encrypted: str | None) -> dict[str, str]:
    """The webhook-verification subset of a channel's stored secrets (one decryption, no token)."""
    if not secrets_encrypted:
        return {}
    return {k: v for k, v in box.decrypt_json(secrets_encrypted).items() if k in VERIFICATION_SECRETS}


async def configure_seed_zapi_channel(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    instance_id: str,
    token: str,
    client_token: str,
    *,
    box: SecretBox | None = None,
) -> ChannelView | None:
    """The seed's ZAPI_* variables → a Z-API channel for the tenant; re-running updates, never duplicates.

    Without `box` the key comes from SECRET_KEY (the development key when unset, like kit.config).
    """
    if not instance_id or not token:
        return None
    box = box or SecretBox.from_settings(os.environ.get("SECRET_KEY") or DEV_SECRET_KEY)
    secrets = {"token": token, **({"client_token": client_token} if client_token else {})}
    existing = await ChannelConfigRepository(session).by_external_id(tenant_id, "zapi", instance_id)
    if existing is None:
        return await create_channel(
            session,
            box,
            tenant_id,
            provider="zapi",
            name="Z-API",
            external_id=instance_id,
            phone_number="",
            secrets=secrets,
        )
    return await update_channel(session, box, tenant_id, str(existing.id), {"active": True}, secrets)


@dataclass(frozen=True)
class SettingsVersion:
    version: int
    settings: dict[str, Any]
    actor_id: str = ""
    actor_email: str = ""
    created_at: Any = None
    rolled_back_from: int | None = None


def _version(row: AiSettingsVersion) -> SettingsVersion:
    return SettingsVersion(
        row.version, row.settings, row.actor_id, row.actor_email, row.created_at, row.rolled_back_from
    )


async def _defaults(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Any]:
    tenant = await TenantRepository(session).get(tenant_id)
    if tenant is None:
        raise authz.OutOfScope()
    return defaults_for(tenant.niche_id, tenant.name)


async def current_ai_settings(session: AsyncSession, tenant_id: uuid.UUID) -> SettingsVersion:
    latest = await AiSettingsRepository(session).latest(tenant_id)
    if latest is not None:
        return _version(latest)
    return SettingsVersion(0, await _defaults(session, tenant_id))


async def _actor_email(session: AsyncSession, fallback: str) -> str:
    actor = authz.actor_id()
    user = await UserRepository(session).get(actor, None) if actor else None
    return user.email if user else fallback


async def _append(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    settings: dict[str, Any],
    actor_email: str,
    rolled_back_from: int | None,
) -> SettingsVersion:
    repo = AiSettingsRepository(session)
    await repo.lock(tenant_id)
    latest = await repo.latest(tenant_id)
    row = AiSettingsVersion(
        tenant_id=tenant_id,
        version=(latest.version if latest else 0) + 1,
        actor_id=str(authz.actor_id() or ""),
        actor_email=await _actor_email(session, actor_email),
        settings=settings,
        rolled_back_from=rolled_back_from,
    )
    await repo.add(row)
    action = "ai_settings.rollback" if rolled_back_from is not None else "ai_settings.update"
    details: dict[str, object] = {"version": row.version, "rolled_back_from": rolled_back_from}
    await audit.record(
        session,
        action,
        tenant_id=tenant_id,
        target_type="ai_settings",
        target_id=str(row.version),
        details=details,
    )
    return _version(row)


async def update_ai_settings(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    values: dict[str, Any],
    fields: list[str],
    actor_email: str = "",
) -> SettingsVersion:
    current = await current_ai_settings(session, tenant_id)
    unknown = sorted(set(fields) - set(current.settings))
    if unknown:
        raise InvalidArgument(f"fields: unknown AI setting(s) {', '.join(unknown)}")
    chosen = fields or list(current.settings)
    merged = {**current.settings, **{k: values[k] for k in chosen}}
    problems = validate(merged)
    if problems:
        raise InvalidArgument("; ".join(problems))
    return await _append(session, tenant_id, merged, actor_email, None)


async def list_ai_versions(
    session: AsyncSession, tenant_id: uuid.UUID, page_size: int, before: int
) -> list[SettingsVersion]:
    rows = await AiSettingsRepository(session).page(tenant_id, max(1, min(page_size or 20, 100)), before)
    return [_version(r) for r in rows]


async def get_ai_version(session: AsyncSession, tenant_id: uuid.UUID, version: int) -> SettingsVersion:
    if version == 0:
        return SettingsVersion(0, await _defaults(session, tenant_id))
    row = await AiSettingsRepository(session).get(tenant_id, version)
    if row is None:
        raise NotFound(f"AI settings version {version} not found")
    return _version(row)


async def diff_ai_versions(
    session: AsyncSession, tenant_id: uuid.UUID, from_version: int, to_version: int
) -> list[tuple[str, str, str]]:
    old = await get_ai_version(session, tenant_id, from_version)
    new = await get_ai_version(session, tenant_id, to_version)
    return [
        (name, json.dumps(a, ensure_ascii=False), json.dumps(b, ensure_ascii=False))
        for name, a, b in diff(old.settings, new.settings)
    ]


async def rollback_ai_settings(
    session: AsyncSession, tenant_id: uuid.UUID, version: int, actor_email: str = ""
) -> SettingsVersion:
    """A new version equal to `version`: history is never rewritten."""
    old = await get_ai_version(session, tenant_id, version)
    return await _append(session, tenant_id, dict(old.settings), actor_email, version)
