"""Fixtures for the cross-service tests: every service's real gRPC server, in-process on port 0."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pytest

from kit import db
from kit.config import SERVICES
from kit.rpc import Server
from kit.testing import settings_for_tests


@pytest.fixture(scope="module")
async def servers(migrated, database_url) -> AsyncIterator[dict[str, Server]]:
    """tenant, conversation, ai and notify, each with its own role's engine, all SERVING."""
    running: dict[str, Server] = {}
    engines = []
    for name in SERVICES:
        package = importlib.import_module(name)
        url = migrated(name, package.__file__)
        settings_cls = importlib.import_module(f"{name}.config").Settings
        build = importlib.import_module(f"{name}.server").build
        engine = db.create_engine(url, pool_size=4, max_overflow=4, application_name=f"test-{name}")
        engines.append(engine)
        extra = {"tenants_hard_limit": 100_000} if name == "tenant" else {}
        server = build(settings_for_tests(settings_cls, database_url, **extra), engine, port=0)
        await server.start()
        running[name] = server
    yield running
    for server in running.values():
        await server.stop(0)
    for engine in engines:
        await engine.dispose()


@pytest.fixture(scope="module")
async def superadmin(migrated, database_url) -> tuple[str, str]:
    """(email, password) of a superadmin seeded the way `python -m tenant seed` does it."""
    import uuid

    import tenant
    from tenant.config import Settings as TenantSettings
    from tenant.seed import bootstrap

    email = f"root-{uuid.uuid4().hex[:8]}@vellarys.test"
    settings = settings_for_tests(
        TenantSettings,
        database_url,
        superadmin_email=email,
        superadmin_tenant_slug=f"p-{uuid.uuid4().hex[:8]}",
        tenants_hard_limit=100_000,
    )
    engine = db.create_engine(
        migrated("tenant", tenant.__file__), pool_size=1, max_overflow=0, application_name="seed"
    )
    async with db.session_factory(engine).begin() as session:
        _, password = await bootstrap(session, settings)
    await engine.dispose()
    return email, password


@pytest.fixture(scope="module")
async def gateway(servers, database_url):
    """The real gateway app wired to the in-process servers, lifespan running."""
    import httpx

    from gateway.app import create_app
    from gateway.clients import Clients
    from gateway.config import Settings

    settings = settings_for_tests(
        Settings, database_url, **{f"{n}_addr": f"127.0.0.1:{s.port}" for n, s in servers.items()}
    )
    app = create_app(settings, clients=Clients.connect(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client
