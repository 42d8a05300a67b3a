"""Tells the conversation service the provider's id of each message we sent, many per call.

The id lets the provider's echo of our message (Z-API fromMe, Meta statuses) be recognised instead of
stored as a new message. A report waits at most `window` seconds for others to join it (the message
has already reached the provider: nothing waits on this but the bookkeeping), then one
RecordOutboundSentBatch call carries them all; every caller still gets its own item's answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

import grpc

from kit.context import CallContext
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

_CODES = {code.value[0]: code for code in grpc.StatusCode}
# The batch speaks for the notify service, for many tenants at once.
_METADATA = CallContext(role="service").metadata()


class SentReports:
    def __init__(
        self, channel: grpc.aio.Channel, deadline: float = 5.0, *, window: float = 0.02, max_batch: int = 100
    ) -> None:
        self.stub = pb_grpc.ConversationServiceStub(channel)
        self.deadline = deadline
        self.window = window
        self.max_batch = max_batch
        self._pending: list[tuple[pb.RecordOutboundSentRequest, asyncio.Future[bool]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def record_outbound_sent(
        self, tenant_id: str, message_id: str, provider: str, provider_message_id: str
    ) -> bool:
        """True once recorded; False (logged) when the conversation service refused or failed it."""
        request = pb.RecordOutboundSentRequest(
            tenant_id=tenant_id,
            message_id=message_id,
            provider=provider,
            provider_message_id=provider_message_id,
        )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((request, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            # The batch runs in its first report's context: its call continues that delivery's trace.
            self._timer = loop.call_later(self.window, self._flush, context=contextvars.copy_context())
        # Shielded: a delivery that is cancelled must not cancel the others' batch.
        return await asyncio.shield(future)

    async def drain(self) -> None:
        """Send what is waiting now and wait for every call in flight (tests, shutdown)."""
        if self._pending:
            self._flush()
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[pb.RecordOutboundSentRequest, asyncio.Future[bool]]]) -> None:
        request = pb.RecordOutboundSentBatchRequest(items=[item for item, _ in batch])
        try:
            reply = await self.stub.RecordOutboundSentBatch(
                request, metadata=_METADATA, timeout=self.deadline
            )
            if len(reply.results) != len(batch):
                raise RuntimeError("RecordOutboundSentBatch answered a different number of items")
        except BaseException as error:
            for _, future in batch:
                if not future.done():
                    future.set_result(False)
            if not isinstance(error, Exception):
                raise
            reason = error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
            log.warning("RecordOutboundSentBatch failed for %d messages: %s", len(batch), reason)
            return
        for (item, future), result in zip(batch, reply.results, strict=True):
            if result.HasField("error"):
                code = _CODES.get(result.error.code, grpc.StatusCode.UNKNOWN)
                log.warning("RecordOutboundSent failed for message %s: %s", item.message_id, code.name)
            if not future.done():
                future.set_result(not result.HasField("error"))
