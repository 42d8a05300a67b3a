"""One request to the gateway that calls services yields one trace with spans from each of them."""

from __future__ import annotations

import asyncio
import uuid

from opentelemetry.trace import SpanKind


def edges(finished) -> set[tuple[str, str]]:
    """(caller service, callee service) for every client span whose child is a server span."""
    by_id = {s.context.span_id: s for s in finished}
    found = set()
    for span in finished:
        if span.kind is SpanKind.SERVER and span.parent and span.parent.span_id in by_id:
            client = by_id[span.parent.span_id]
            if client.kind is SpanKind.CLIENT:
                found.add((_service(client, by_id), span.attributes.get("rpc.service", span.name)))
    return found


def _service(span, by_id) -> str:
    """The name of the HTTP/gRPC server span this span descends from."""
    while span.parent and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
    return "gateway" if "rpc.service" not in (span.attributes or {}) else span.attributes["rpc.service"]


async def test_detailed_health_is_one_trace_across_every_service(gateway, servers, spans):
    for _ in range(50):  # servers report SERVING once their first readiness check passed
        if all(s.serving for s in servers.values()):
            break
        await asyncio.sleep(0.05)
    response = await gateway.get("/api/health/detailed")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert {"database", "tenant", "conversation", "ai", "notify"} <= set(body["checks"])
    assert all(c["latency_ms"] >= 0 for c in body["checks"].values())

    everything = spans.get_finished_spans()
    roots = [s for s in everything if s.parent is None and s.kind is SpanKind.SERVER]
    assert len(roots) == 1, [s.name for s in roots]  # the gateway's HTTP span
    assert "/api/health/detailed" in roots[0].name
    finished = [s for s in everything if s.context.trace_id == roots[0].context.trace_id]
    # Every health RPC the request caused is in the request's trace (other traces in `everything`
    # belong to background work of this shared test process, not to the request).
    health_rpcs = [s for s in everything if s.kind is SpanKind.SERVER and "grpc.health" in s.name.lower()]
    assert health_rpcs and all(s.context.trace_id == roots[0].context.trace_id for s in health_rpcs)
    health_servers = [s for s in finished if s.kind is SpanKind.SERVER and s.parent is not None]
    assert len(health_servers) == 4, [s.name for s in health_servers]
    assert {(c, s) for c, s in edges(finished)} == {("gateway", "grpc.health.v1.Health")}


async def test_runbook_tenant_creation_is_one_trace_down_to_the_database(gateway, superadmin, spans):
    email, password = superadmin
    login = await gateway.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    spans.clear()
    response = await gateway.post(
        "/api/v1/admin/tenants",
        json={"name": "Imobiliária Trace", "slug": f"trace-{uuid.uuid4().hex[:8]}", "niche_id": 1},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert response.status_code == 201, response.text
    everything = spans.get_finished_spans()
    root = next(s for s in everything if s.parent is None and s.kind is SpanKind.SERVER)
    assert "/api/v1/admin/tenants" in root.name
    # Background work of this shared test process may finish spans of its own meanwhile.
    finished = [s for s in everything if s.context.trace_id == root.context.trace_id]
    by_id = {s.context.span_id: s for s in finished}

    def chain(span) -> list:
        path = [span]
        while span.parent and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            path.append(span)
        return path

    rpcs = {s.name for s in finished if s.kind is SpanKind.SERVER and s is not root}
    # The gateway re-checks the caller (GetPrincipal), then creates the tenant.
    assert "/vellarys.tenant.v1.TenantService/CreateTenant" in rpcs or any(
        "CreateTenant" in r for r in rpcs
    ), rpcs
    create = next(s for s in finished if s.kind is SpanKind.SERVER and "CreateTenant" in s.name)
    assert chain(create)[-1] is root
    db_spans = [
        s for s in finished if "db.system" in (s.attributes or {}) or "db.system.name" in (s.attributes or {})
    ]
    assert any(create in chain(s) for s in db_spans), "the tenant's queries belong to the trace"


async def test_statements_get_spans_only_inside_sampled_traces(spans, database_url):
    import asyncpg
    from opentelemetry import context, trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from kit.dbadmin import asyncpg_dsn

    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        with trace.get_tracer("test").start_as_current_span("sampled parent") as parent:
            await connection.fetchval("SELECT 1")
            await (await connection.prepare("SELECT 2")).fetchval()
        sampled = [s for s in spans.get_finished_spans() if s.name == "SELECT"]
        assert len(sampled) == 2 and all(
            s.parent.span_id == parent.get_span_context().span_id for s in sampled
        )

        spans.clear()
        unsampled = SpanContext(
            trace_id=uuid.uuid4().int >> 64, span_id=7, is_remote=True, trace_flags=TraceFlags(0)
        )
        token = context.attach(trace.set_span_in_context(NonRecordingSpan(unsampled)))
        try:
            await connection.fetchval("SELECT 3")
            await (await connection.prepare("SELECT 4")).fetchval()
        finally:
            context.detach(token)
        await connection.fetchval("SELECT 5")  # outside any trace
        assert [s.name for s in spans.get_finished_spans()] == []
    finally:
        await connection.close()
