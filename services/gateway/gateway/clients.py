"""gRPC channels and stubs to the four services, created in the app's lifespan (a stub once per
channel: building one per call cost measurable CPU on the webhook path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import grpc

from kit import rpc
from kit.config import SERVICES, CommonSettings
from vellarys.ai.v1 import ai_pb2_grpc
from vellarys.conversation.v1 import conversation_pb2_grpc
from vellarys.notify.v1 import notify_pb2_grpc
from vellarys.tenant.v1 import tenant_pb2_grpc


@dataclass
class Clients:
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    @classmethod
    def connect(cls, settings: CommonSettings) -> Clients:
        return cls(
            {
                name: rpc.make_channel(settings.service_addr(name), deadline=settings.grpc_deadline_seconds)
                for name in SERVICES
            }
        )

    @cached_property
    def tenant(self) -> tenant_pb2_grpc.TenantServiceStub:
        return tenant_pb2_grpc.TenantServiceStub(self.channels["tenant"])

    @cached_property
    def conversation(self) -> conversation_pb2_grpc.ConversationServiceStub:
        return conversation_pb2_grpc.ConversationServiceStub(self.channels["conversation"])

    @cached_property
    def ai(self) -> ai_pb2_grpc.AiServiceStub:
        return ai_pb2_grpc.AiServiceStub(self.channels["ai"])

    @cached_property
    def notify(self) -> notify_pb2_grpc.NotifyServiceStub:
        return notify_pb2_grpc.NotifyServiceStub(self.channels["notify"])

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
