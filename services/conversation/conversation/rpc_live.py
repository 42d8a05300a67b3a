"""AssignLead and WatchEvents, a mixin of ConversationServicer.

WatchEvents is server-streaming; kit.rpc's interceptor gives it the same credential check, call
context and error mapping as the unary calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversation import authz, events
from conversation.codec import encode_lead
from conversation.events import EventHub, LiveEvent
from conversation.leads import optional_id
from conversation.ownership import detail
from conversation.worker import ReplyWorker
from kit.timestamps import timestamp_or_none
from vellarys.conversation.v1 import conversation_pb2 as pb


class LiveRpcs:
    sessions: async_sessionmaker[AsyncSession]
    outbox: ReplyWorker
    # Set by server.build; None when the process has no database URL for LISTEN.
    hub: EventHub | None = None

    async def AssignLead(
        self, request: pb.AssignLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignLeadResponse:
        assigner = self.outbox.assigner
        if assigner is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "assignment is not configured here")
        assert assigner is not None
        lead, _ = await assigner.assign_by_admin(request.tenant_id, request.lead_id, request.user_id)
        async with assigner.sessions.begin() as session:
            return pb.AssignLeadResponse(lead=encode_lead(lead, await detail(session, lead)))

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchEventsResponse]:
        scope = authz.scope(optional_id(request.tenant_id, "tenant_id"))
        if self.hub is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "live events are not configured here")
        assert self.hub is not None
        async with self.hub.subscribe() as queue:
            # The caller may wait for these headers: from here on, no committed event is missed.
            await context.send_initial_metadata(())
            while True:
                event = await queue.get()
                if events.visible(event, scope):
                    yield encode_live(event)


def encode_live(event: LiveEvent) -> pb.WatchEventsResponse:
    try:
        at = datetime.fromisoformat(event.at) if event.at else None
    except ValueError:
        at = None
    return pb.WatchEventsResponse(
        type=event.type,
        tenant_id=event.tenant_id,
        lead_id=event.lead_id,
        assigned_user_id=event.assigned_user_id,
        at=timestamp_or_none(at),
    )
