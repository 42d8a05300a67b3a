"""The gateway over the real tenant gRPC server, in-process: shared by the settings and catalog
route tests (a module that defines its own `stack` fixture uses that one instead)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

import tenant
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from kit import db, rpc
from kit.config import SERVICES
from kit.testing import settings_for_tests
from tenant.config import Settings as TenantSettings
from tenant.seed import bootstrap
from tenant.server import build

PASSWORD = "correct horse battery"


@dataclass
class TenantApi:
    """The gateway's HTTP client plus the calls every tenant-context test needs."""

    http: httpx.AsyncClient
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        if email not in self.tokens:
            r = await self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            self.tokens[email] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[email]}"}

    async def superadmin(self) -> dict[str, str]:
        return await self.login(self.super_email, self.super_password)

    async def new_tenant(self) -> str:
        body = {"name": "Imob", "slug": f"t-{uuid.uuid4().hex[:10]}", "niche_id": 1}
        r = await self.http.post("/api/v1/admin/tenants", json=body, headers=await self.superadmin())
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def user_headers(self, tenant_id: str, role: str) -> dict[str, str]:
        email = f"u{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "name": "Ana", "role": role, "password": PASSWORD}
        r = await self.http.post(
            "/api/v1/users", params={"tenant_id": tenant_id}, json=body, headers=await self.superadmin()
        )
        assert r.status_code == 201, r.text
        return await self.login(email)


@pytest.fixture(scope="module")
async def stack(migrated, database_url) -> AsyncIterator[TenantApi]:
    url = migrated("tenant", tenant.__file__)
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    settings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    engine = db.create_engine(url, pool_size=4, max_overflow=4, application_name="test-gw-tenant-api")
    async with db.session_factory(engine).begin() as session:
        _, password = await bootstrap(session, settings)
    server = build(settings, engine, port=0)
    await server.start()
    channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
    channels["tenant"] = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=60)
    gateway_settings = settings_for_tests(
        GatewaySettings, database_url, public_base_url="https://api.example.com"
    )
    app = create_app(gateway_settings, clients=Clients(channels))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield TenantApi(http, email, password)
    for channel in channels.values():
        await channel.close()
    await server.stop(0)
    await engine.dispose()
