"""The FastAPI application: create_app + lifespan. Resources are built here and passed down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from gateway import errors, fastpath
from gateway.auth import PrincipalCache, Tokens
from gateway.clients import Clients
from gateway.config import Settings
from gateway.ingress import Ingress
from gateway.limits import MemoryCounter, RedisCounter
from gateway.middleware import GatewayMiddleware
from gateway.routes import (
    admin,
    audit,
    auth,
    catalog,
    deliveries,
    diagnosis,
    events,
    health,
    leads,
    metrics,
    simulator,
    usage,
    users,
    webhooks,
)
from gateway.routes import settings as settings_routes
from kit import db
from kit.config import service_database_url

log = logging.getLogger(__name__)

# JSON bodies of these areas are small; larger ones are refused with 413 before they are read whole.
# Routers of the other dashboard areas, included when present in this build.


def _redis_ping(url: str | None) -> tuple[Any, Callable[[], Awaitable[Any]] | None]:
    if not url:
        return None, None
    from kit.redisclient import connect

    client = connect(url)

    async def ping() -> bool:
        return bool(await client.ping())

    return client, ping


class GatewayApp(FastAPI):
    """FastAPI, with the webhook POSTs answered by gateway.fastpath before its middleware stack."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook = fastpath.route_of(scope)
        if webhook is None:
            await super().__call__(scope, receive, send)
        else:
            await fastpath.serve(self, scope, receive, send, *webhook)


def create_app(settings: Settings, clients: Clients | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_clients = clients or Clients.connect(settings)
        # The gateway's role may only connect: its pool exists for the database health check.
        engine = db.create_engine(
            service_database_url(settings, "gateway", settings.gateway_database_url),
            pool_size=1,
            max_overflow=1,
            application_name="vellarys-gateway",
        )
        redis_client, redis_ping = _redis_ping(settings.redis_url)
        app.state.clients = own_clients
        app.state.redis = redis_client
        app.state.mode = {"redis": "shared" if redis_client else "in-process"}
        counter = (
            RedisCounter(redis_client, f"{settings.redis_prefix}limit:")
            if redis_client is not None
            else MemoryCounter()
        )
        app.state.ingress = Ingress(
            own_clients,
            counter,
            cache_ttl=settings.channel_cache_seconds,
            batch_max=settings.ingest_batch_max,
            batch_inflight=settings.ingest_batch_inflight,
            batch_overlap_min=settings.ingest_batch_overlap_min,
        )
        app.state.detailed_health = health.DetailedHealth(
            health.build_checks(own_clients.channels, lambda: db.ping(engine), redis_ping),
            timeout=settings.health_check_timeout,
            cache_seconds=settings.health_cache_seconds,
        )
        follower = (
            asyncio.create_task(app.state.ingress.follow_routing(settings.channel_epoch_seconds))
            if settings.channel_epoch_seconds > 0
            else None
        )
        log.info("gateway ready (redis: %s)", app.state.mode["redis"])
        try:
            yield
        finally:
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
            if clients is None:
                await own_clients.close()
            if redis_client is not None:
                await redis_client.aclose()
            await engine.dispose()

    app = GatewayApp(
        title="Vellarys API",
        version="0.1.0",
        description="WhatsApp lead answering: provider webhooks and the dashboard REST API.",
        lifespan=lifespan,
        # FastAPI's own tracing: one server span per request, named after the route template once
        # routed. (The contrib instrumentor matched every route again per request to name its span,
        # an eighth of the gateway's CPU under load.) Metrics are ours (kit.metrics).
        telemetry={"operation_spans": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.tokens = Tokens(settings)
    app.state.principals = PrincipalCache()
    errors.install(app)

    # The webhook POSTs are answered by GatewayApp.__call__ before routing; their routes here
    # document them and serve Meta's GET handshake.
    app.include_router(webhooks.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    for router in (
        auth.router,
        admin.router,
        users.router,
        audit.router,
        settings_routes.router,
        catalog.router,
        leads.router,
        diagnosis.router,
        deliveries.router,
        events.router,
        simulator.router,
        usage.router,
    ):
        app.include_router(router)
    app.add_middleware(GatewayMiddleware)
    return app
