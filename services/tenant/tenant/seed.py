"""``python -m tenant seed``: the idempotent superadmin bootstrap.

Creates the platform tenant and its superadmin from SUPERADMIN_* when they do not exist; never
changes an existing user's password. In development, without SUPERADMIN_PASSWORD, a strong password
is generated and printed once to stdout (the one place we print: the operator needs it).
"""

from __future__ import annotations

import importlib
import logging
import sys
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kit import db
from tenant import domain, niches, service, users
from tenant.config import Settings, superadmin_password_problem
from tenant.repository import TenantRepository, UserRepository

log = logging.getLogger(__name__)


async def seed(settings: Settings) -> None:
    problem = superadmin_password_problem(settings)
    if problem:
        print(f"configuration error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    engine = db.service_engine(settings, "tenant", settings.tenant_database_url)
    try:
        async with db.session_factory(engine).begin() as session:
            await bootstrap(session, settings)
    finally:
        await engine.dispose()


async def bootstrap(session: AsyncSession, settings: Settings) -> tuple[uuid.UUID, str]:
    """(the superadmin's tenant id, the generated password or '' when none was generated)."""
    tenant_id = await _platform_tenant(session, settings)
    email = domain.normalise_email(settings.superadmin_email)
    existing = await UserRepository(session).by_email(email)
    generated = ""
    if existing is not None:
        log.info("superadmin %s already exists; password left unchanged", email)
        print(f"superadmin {email} already exists; password unchanged")
    else:
        password = settings.superadmin_password or domain.new_password()
        generated = "" if settings.superadmin_password else password
        await users.create_user(
            session,
            tenant_id=tenant_id,
            email=email,
            name="Superadmin",
            role="superadmin",
            password=password,
            phone="",
            caller_role="superadmin",
            source_ip="seed",
        )
        log.info("superadmin %s created", email)
        if generated:
            print(f"development credentials: email {email} password {generated}")
    await _zapi_channel(session, settings, tenant_id)
    return tenant_id, generated


async def _platform_tenant(session: AsyncSession, settings: Settings) -> uuid.UUID:
    found = await TenantRepository(session).by_slug(settings.superadmin_tenant_slug)
    if found is not None:
        return found.id
    tenant, _ = await service.create_tenant(
        session,
        name=settings.superadmin_tenant_name,
        slug=settings.superadmin_tenant_slug,
        niche_id=niches.REAL_ESTATE,
        limits=domain.PlanLimits(),
        soft_limit=settings.tenants_soft_limit,
        hard_limit=settings.tenants_hard_limit,
        source_ip="seed",
    )
    return tenant.id


async def _zapi_channel(session: AsyncSession, settings: Settings, tenant_id: uuid.UUID) -> None:
    values = (settings.zapi_instance_id, settings.zapi_token, settings.zapi_client_token)
    if not (settings.zapi_instance_id and settings.zapi_token):
        return
    try:
        configure = importlib.import_module("tenant.settings_service").configure_seed_zapi_channel
        box = importlib.import_module("tenant.crypto").SecretBox.from_settings(settings.secret_key)
    except (ImportError, AttributeError):
        log.warning("ZAPI_* are set but this build cannot configure channels yet; skipped")
        return
    await configure(session, tenant_id, *values, box=box)
    log.info("Z-API channel configured for the superadmin's tenant")
