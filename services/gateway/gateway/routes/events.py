"""GET /api/v1/events: the dashboard's live stream (Server-Sent Events).

Each connection opens conversation.WatchEvents with the caller's metadata; the conversation service
filters by tenant and role (a seller gets their own and unassigned leads), so this route only frames
events. A comment line every HEARTBEAT_SECONDS keeps proxies from closing an idle stream; when the
client goes away the gRPC stream is cancelled. Events are small: type, lead id, seller id, time —
the dashboard fetches details over the REST routes. Clients reconnect (EventSource does) after an
error and refresh their lists then: events committed while disconnected are not replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from gateway.auth import ANY_ROLE, Principal, require_roles
from vellarys.conversation.v1 import conversation_pb2 as pb

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/events", tags=["events"])
readers = require_roles(*ANY_ROLE)
HEARTBEAT_SECONDS = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def frame(event: pb.WatchEventsResponse) -> str:
    data: dict[str, Any] = {
        "type": event.type,
        "tenant_id": event.tenant_id,
        "lead_id": event.lead_id,
        "assigned_user_id": event.assigned_user_id or None,
        "at": event.at.ToDatetime().isoformat() + "Z" if event.HasField("at") else None,
    }
    return f"event: {event.type}\ndata: {json.dumps(data)}\n\n"


async def _frames(call: Any, heartbeat: float) -> AsyncIterator[str]:
    yield ": connected\n\n"
    pending: asyncio.Future[Any] = asyncio.ensure_future(call.read())
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=heartbeat)
            if not done:
                yield ": heartbeat\n\n"
                continue
            event = pending.result()
            if event is grpc.aio.EOF:
                return
            yield frame(event)
            pending = asyncio.ensure_future(call.read())
    except grpc.aio.AioRpcError as error:
        log.warning("live events stream ended: %s", error.code().name)
    finally:
        pending.cancel()
        call.cancel()


@router.get(
    "",
    summary="Live events of the tenant (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    tenant_id: uuid.UUID | None = Query(default=None, description="Superadmin only: another tenant"),
    principal: Principal = Depends(readers),
) -> StreamingResponse:
    call = request.app.state.clients.conversation.WatchEvents(
        pb.WatchEventsRequest(tenant_id=str(tenant_id or "")), metadata=principal.metadata()
    )
    try:
        # Answers once the stream listens (or raises its refusal, mapped like any gRPC error).
        await call.wait_for_connection()
    except BaseException:
        call.cancel()
        raise
    heartbeat = getattr(request.app.state, "events_heartbeat_seconds", HEARTBEAT_SECONDS)
    return StreamingResponse(_frames(call, heartbeat), media_type="text/event-stream", headers=HEADERS)
