"""The reply worker: up to N reply jobs run at once in the conversation process (any number of
replicas share the queue through FOR UPDATE SKIP LOCKED), plus a sweeper for messages stored but not
handed to notify, and a sampler for the queue gauges.

One dispatcher claims due jobs (as many as there are free slots, in one statement) and runs each in a
task of its own. It claims the moment a job falls due: IngestInbound calls `notice(debounce)` after its
commit, which wakes this process's dispatchers when that time comes. The poll every `poll` seconds is
the safety net for what no notice announces: jobs scheduled by other replicas, retries, expired leases
and jobs left over from before a restart.

A run never holds a transaction while the model thinks. A worker killed mid-job loses nothing: the
job's lease runs out and another worker claims it; the reply's id is derived from the job, so the
message insert and notify's SendMessage are idempotent and the lead never gets it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
import weakref
from dataclasses import dataclass, field

import grpc
from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from conversation import replies
from conversation.assigner import Assigner
from conversation.domain import Outgoing, window_open
from conversation.ports import AiPort, NotifyPort
from conversation.replies import Claimed, LeaseLost, Policy, Snapshot
from conversation.repository_jobs import (
    QUEUE_DEPTH_CAP,
    OutboxRepository,
    ReplyJobRepository,
    handed_alone,
    now,
)

log = logging.getLogger(__name__)
tracer = trace.get_tracer("conversation")

QUEUE_DEPTH = Gauge(
    "vellarys_reply_queue_depth",
    f"reply jobs due now and not yet claimed (counted up to {QUEUE_DEPTH_CAP:,})",
)
QUEUE_AGE = Gauge(
    "vellarys_reply_queue_oldest_age_seconds", "how long the oldest due reply job has waited past its time"
)
JOBS = Counter("vellarys_reply_jobs_total", "reply job runs by how they ended", ["outcome"])
MAX_BACKOFF = 30.0
# A running worker marks the messages it handed to notify in one statement per this many seconds
# (what a crash loses here, the sweeper hands again: SendMessage is idempotent on the message id).
HANDED_FLUSH_SECONDS = 0.05
HANDED_MAX_PENDING = 10_000
# A notice's wake-up comes this much after the job's run_after would be reached by this process's clock
# (run_after is computed from the transaction's start, before the notice, so it is already due then).
NOTICE_SLACK = 0.002
# Notices due within the same few milliseconds share one timer (a batch of webhooks gives many).
NOTICE_GRAIN = 0.002
_TIMERS: set[int] = set()

# The started workers of this process: a notice given to any ReplyWorker (the RPC servicer holds one
# that never runs loops) wakes the dispatchers of all of them.
_RUNNING: weakref.WeakSet[ReplyWorker] = weakref.WeakSet()


@dataclass(frozen=True)
class WorkerConfig:
    workers: int = 4
    lease: float = 60.0
    poll: float = 0.5
    sweep_every: float = 10.0
    sweep_grace: float = 30.0
    metrics_every: float = 5.0
    assign_every: float = 5.0
    policy: Policy = field(default_factory=Policy)


class ReplyWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ai: AiPort,
        notify: NotifyPort,
        config: WorkerConfig,
        name: str = "worker",
        assigner: Assigner | None = None,
    ) -> None:
        self.sessions = sessions
        self.ai = ai
        self.notify = notify
        self.config = config
        self.name = name
        # Without one (no tenant service wired), handed-off leads wait for a replica that has one.
        self.assigner = assigner
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._full = False
        self._handed: list[tuple[uuid.UUID, uuid.UUID]] = []
        # Hand-overs to notify of finished jobs: they run outside the job slots.
        self._handing: set[asyncio.Task[None]] = set()

    def _connect(self) -> AsyncConnection:
        """A pooled connection for the reply path's single-statement steps (the claim, a simple reply,
        the handed marks): each runs on the raw driver and commits alone, without BEGIN and COMMIT."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        return engine.connect()

    def start(self) -> None:
        loops = []
        if self.config.workers > 0:
            loops.append(self._dispatch())
        loops += [
            self._forever(self.flush_handed, HANDED_FLUSH_SECONDS),
            self._forever(self._sweep_tick, self.config.sweep_every),
            self._forever(self._sample_tick, self.config.metrics_every),
        ]
        if self.assigner is not None:
            loops.append(self._forever(self._assign_tick, self.config.assign_every))
        self._tasks = [asyncio.create_task(loop) for loop in loops]
        _RUNNING.add(self)

    async def stop(self) -> None:
        _RUNNING.discard(self)
        self._stopping.set()
        # A job cancelled mid-run keeps its lease until it runs out; then any worker redoes it.
        tasks = [*self._tasks, *self._running, *self._handing]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(Exception):  # what stays unmarked, the sweeper hands again
            await self.flush_handed()

    def notice(self, delay_seconds: float) -> None:
        """A reply job falls due in `delay_seconds`: this process's dispatchers claim it then, without
        waiting for their next poll. Call it after the job's transaction committed."""
        loop = asyncio.get_running_loop()
        slot = math.ceil((loop.time() + max(0.0, delay_seconds) + NOTICE_SLACK) / NOTICE_GRAIN)
        if slot not in _TIMERS:
            _TIMERS.add(slot)
            loop.call_at(slot * NOTICE_GRAIN, _fire, slot)

    def wake(self) -> None:
        """Claim now (a job may be due): the dispatcher stops waiting for its poll."""
        self._wake.set()

    async def _dispatch(self) -> None:
        """Claim as many due jobs as there are free slots, run each in its own task; when none is due,
        sleep until a notice, a slot freeing up (if all were busy) or the poll."""
        failures = 0
        while not self._stopping.is_set():
            free = self.config.workers - len(self._running)
            self._wake.clear()  # before claiming: a wake during the claim is not lost
            if free <= 0:
                self._full = True  # the next job to finish wakes us: due jobs may be waiting
            else:
                try:
                    claimed = await self.claim(free)
                    failures = 0
                except Exception as exc:
                    claimed = []
                    failures += 1
                    log.warning("reply claim failed (%d in a row): %s", failures, type(exc).__name__)
                for job, snap in claimed:
                    self._spawn(job, snap)
                if claimed and len(claimed) == free:
                    continue  # maybe more are due
            delay = min(MAX_BACKOFF, self.config.poll * 2**failures) if failures else self.config.poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _spawn(self, job: Claimed, snap: Snapshot | None) -> None:
        task = asyncio.create_task(self._run_job(job, snap), name=f"reply-{job.id}")
        self._running.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._running.discard(t)
            if self._full:
                self._full = False
                self._wake.set()

        task.add_done_callback(done)

    async def _run_job(self, job: Claimed, snap: Snapshot | None) -> None:
        try:
            await self.process(job, snap, loaded=True, hand_over_later=True)
        except Exception as exc:  # the lease runs out and another run redoes the job
            log.warning("reply job %s failed: %s", job.id, type(exc).__name__)

    async def claim(self, limit: int) -> list[tuple[Claimed, Snapshot | None]]:
        """Claim up to `limit` due jobs and read each one's snapshot, in one transaction."""
        token = f"{self.name}:{uuid.uuid4()}"
        async with self._connect() as connection:
            return await replies.claim_and_load(connection, token, self.config.lease, limit)

    async def _forever(self, step: object, idle: float) -> None:
        """Run `step` until stopped; a failing database only slows the loop down (capped backoff)."""
        failures = 0
        while not self._stopping.is_set():
            try:
                busy = await step()  # type: ignore[operator]
                failures = 0
            except Exception as exc:
                failures += 1
                busy = False
                log.warning("reply worker step failed (%d in a row): %s", failures, type(exc).__name__)
            if not busy:
                delay = min(MAX_BACKOFF, idle * 2**failures) if failures else idle
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def run_once(self) -> bool:
        """Claim one due job and run it; False when none was due."""
        claimed = await self.claim(1)
        if not claimed:
            return False
        await self.process(*claimed[0], loaded=True)
        return True

    async def process(
        self,
        job: Claimed,
        snap: Snapshot | None = None,
        *,
        loaded: bool = False,
        hand_over_later: bool = False,
    ) -> None:
        """Run a claimed job; `loaded` when `snap` is its snapshot read at the claim (None: gone).
        With `hand_over_later` the reply is handed to notify in a task of its own, after this returns
        (the job is done by then: a failed hand-over is the sweeper's, as always)."""
        parent = propagate.extract(job.carrier)
        attributes: dict[str, str | int] = {"vellarys.job_id": str(job.id), "vellarys.attempt": job.attempts}
        with tracer.start_as_current_span(
            "conversation.reply", context=parent, attributes=attributes
        ) as span:
            handoff = False
            try:
                outcome, outgoing, handoff = await self._run(job, snap, loaded)
            except LeaseLost:
                outcome, outgoing = "lease_lost", []
            span.set_attribute("vellarys.outcome", outcome)
            JOBS.labels(outcome).inc()
            if not (outgoing or handoff):
                return
            if not hand_over_later:
                await self._deliver(job, outgoing, handoff)
                return
            # In the reply's trace still (the task copies the context).
            task = asyncio.create_task(self._deliver(job, outgoing, handoff))
            self._handing.add(task)
            task.add_done_callback(self._handing.discard)

    async def _deliver(self, job: Claimed, outgoing: list[Outgoing], handoff: bool) -> None:
        try:
            for message in outgoing:
                await self.hand_over(message)
            if handoff and self.assigner is not None:
                # At once, in the reply's trace; the sweeper retries whatever fails here.
                await self.assigner.run(job.tenant_id, job.conversation_id)
        except Exception as exc:  # what is left undone, the sweepers redo
            log.warning("hand-over of reply job %s failed: %s", job.id, type(exc).__name__)

    async def _run(
        self, job: Claimed, snap: Snapshot | None, loaded: bool
    ) -> tuple[str, list[Outgoing], bool]:
        """(outcome, messages to hand to notify, whether the conversation was handed off)."""
        if not loaded:
            async with self.sessions.begin() as session:
                snap = await replies.load(session, job)
        reason = replies.precheck(job, snap)
        if reason is not None or snap is None:
            async with self.sessions.begin() as session:
                return await replies.conclude(session, job, snap, reason or "gone"), [], False
        try:
            reply = await self.ai.generate(replies.ai_request(job, snap))
        except grpc.aio.AioRpcError as error:
            log.warning("ai.GenerateReply failed: %s", error.code().name)
            async with self.sessions.begin() as session:
                outcome = await replies.ai_unavailable(session, job, self.config.policy, error.code().name)
                return outcome, [], False
        if replies.simple(snap, reply):
            async with self._connect() as connection:
                done = await replies.apply_simple(connection, job, snap, reply)
            if done is not None:
                return done[0], done[1], False
        async with self.sessions.begin() as session:
            outcome, outgoing = await replies.apply(session, job, snap, reply, self.config.policy)
        return outcome, outgoing, reply.handoff and outcome == reply.outcome

    async def hand_over(self, message: Outgoing) -> str:
        """Give notify the message (its delivery id); on failure it stays pending for the sweeper."""
        try:
            delivery_id = await self.notify.send(message)
        except grpc.aio.AioRpcError as error:
            log.warning("notify.SendMessage failed, the sweeper will retry: %s", error.code().name)
            return ""
        if self._tasks and len(self._handed) < HANDED_MAX_PENDING:
            self._handed.append((message.tenant_id, message.message_id))  # flush_handed() marks it
            return delivery_id
        async with self.sessions.begin() as session:
            await OutboxRepository(session).handed(message.tenant_id, message.message_id)
        return delivery_id

    async def flush_handed(self) -> bool:
        """Mark the messages handed over since the last flush, in one statement; False when none."""
        if not self._handed:
            return False
        batch, self._handed = self._handed, []
        try:
            async with self._connect() as connection:
                await handed_alone(connection, batch)
        except Exception:
            self._handed = [*batch, *self._handed][:HANDED_MAX_PENDING]
            raise
        return False

    async def sweep(self) -> int:
        """Hand to notify every message stored for sending but not handed over in time."""
        await self.flush_handed()
        async with self.sessions.begin() as session:
            rows = await OutboxRepository(session).stale(self.config.sweep_grace, 100)
            at = await now(session)
        handed = 0
        for r in rows:
            message = Outgoing(
                r.tenant_id, r.id, r.phone, r.text, r.channel_id, window_open(r.last_inbound_at, at)
            )
            handed += bool(await self.hand_over(message))
        return handed

    async def _sweep_tick(self) -> bool:
        await self.sweep()
        return False

    async def sample(self) -> tuple[int, float]:
        async with self.sessions.begin() as session:
            depth, age = await ReplyJobRepository(session).queue_stats()
        QUEUE_DEPTH.set(depth)
        QUEUE_AGE.set(age)
        return depth, age

    async def _assign_tick(self) -> bool:
        assert self.assigner is not None
        return bool(await self.assigner.sweep())

    async def _sample_tick(self) -> bool:
        await self.sample()
        return False


def _fire(slot: int) -> None:
    _TIMERS.discard(slot)
    wake_all()


def wake_all() -> None:
    """Wake the dispatchers of every started worker in this process."""
    for worker in list(_RUNNING):
        worker.wake()
