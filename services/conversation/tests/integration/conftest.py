"""Shared fixtures: one real conversation gRPC server per module, over a real migrated Postgres."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import asyncpg
import pytest
from sqlalchemy import make_url

import conversation
from conversation.config import Settings
from conversation.server import build
from kit import config, db, migrate, rpc
from kit.config import CommonSettings
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn, bootstrap
from kit.service import migrations_dir
from kit.testing import settings_for_tests
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.ConversationServiceStub]:
    url = migrated("conversation", conversation.__file__)
    engine = db.create_engine(url, pool_size=10, max_overflow=10, application_name="test-conversation")
    server = build(settings_for_tests(Settings, database_url), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    yield pb_grpc.ConversationServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


class Helpers:
    """Request factories, handed to tests as the ``h`` fixture (tests import no sibling modules)."""

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def as_user(role: str, tenant_id: str, user_id: str | None = None) -> tuple[tuple[str, str], ...]:
        return CallContext(tenant_id=tenant_id, actor_id=user_id or str(uuid.uuid4()), role=role).metadata()

    @staticmethod
    def message(
        tenant_id: str,
        sender: str = "+5541999990000",
        *,
        at: datetime | None = None,
        limits: pb.LimitState | None = None,
        **fields: object,
    ) -> pb.IngestInboundRequest:
        values: dict[str, object] = {
            "provider": "zapi",
            "external_id": uuid.uuid4().hex,
            "sender": sender,
            "sender_name": "Maria",
            "kind": pb.MESSAGE_KIND_TEXT,
            "text": "Oi, ainda está disponível?",
        }
        values.update(fields)
        inbound = pb.InboundMessage(**values)
        if at is not None:
            inbound.sent_at.FromDatetime(at)
        return pb.IngestInboundRequest(tenant_id=tenant_id, message=inbound, limits=limits)


@pytest.fixture(scope="session")
def h() -> type[Helpers]:
    return Helpers


@pytest.fixture
async def fresh(database_url: str) -> AsyncIterator[str]:
    """A database of this test's own with the conversation schema at head; yields its admin URL."""
    name = f"vellarys_plans_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        settings = settings_for_tests(CommonSettings, url)
        await bootstrap(settings, ("conversation",))
        role_url = config.service_database_url(settings, "conversation")
        with ThreadPoolExecutor(max_workers=1) as pool:  # alembic's env runs a loop of its own
            await asyncio.wrap_future(
                pool.submit(migrate.upgrade, migrations_dir(conversation.__file__), role_url, "conversation")
            )
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
