"""Use cases of the dashboard's simulator. Those that touch the database run in the caller's
transaction; running replies happens outside any transaction (a model answer takes seconds)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ai import errors, service, simulator
from ai.models import SimulatorCase, SimulatorRun
from ai.reply import Generated, ReplyInput, Responder
from ai.repository import SimulatorCaseRepository, SimulatorRunRepository
from ai.simulator import CaseSpec, Check
from kit.errors import AlreadyExists, FailedPrecondition, NotFound

MAX_CASES_PER_TENANT = 200
MAX_CASES_PER_RUN = 50
# Cases of one run answered at once: enough to finish a run in a couple of model deadlines, few
# enough not to trip the provider's rate limit for the tenant's live leads.
RUN_CONCURRENCY = 4
DEFAULT_RUNS_PAGE = 20


@dataclass(frozen=True)
class CaseOutcome:
    case: SimulatorCase
    request: ReplyInput
    reply: Generated
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def result_json(self) -> dict[str, object]:
        return {
            "case_id": str(self.case.id),
            "name": self.case.name,
            "passed": self.passed,
            "checks": [asdict(c) for c in self.checks],
            "reply_text": self.reply.text,
            "score": self.reply.score,
            "handoff": self.reply.handoff,
            "outcome": self.reply.outcome.value,
            "profile": simulator.facts_json(self.reply.profile),
        }


async def simulate(request: ReplyInput, model: Responder | None) -> Generated:
    """The reply GenerateReply would give, for a conversation that has no lead and no job."""
    if request.lead_id or request.job_id:
        raise errors.BadValue("lead_id", "must be empty in the simulator")
    service.parse_id(request.tenant_id, "tenant_id")
    simulator.validate_conversation(request.history)
    return await service.generate_reply(request, model)


def _case_id(value: str) -> uuid.UUID:
    return service.parse_id(value, "case_id")


def _fill(case: SimulatorCase, spec: CaseSpec) -> None:
    case.name = spec.name.strip()
    case.lead_name = spec.lead_name
    case.messages = simulator.turns_json(spec.messages)
    case.profile = simulator.facts_json(spec.profile)
    case.expectations = simulator.expectations_json(spec.expectations)


async def create_case(
    session: AsyncSession, tenant_id: str, spec: CaseSpec, actor: uuid.UUID | None
) -> SimulatorCase:
    tenant = service.parse_id(tenant_id, "tenant_id")
    simulator.validate_case(spec)
    cases = SimulatorCaseRepository(session)
    if await cases.count(tenant) >= MAX_CASES_PER_TENANT:
        raise FailedPrecondition(f"a tenant may keep at most {MAX_CASES_PER_TENANT} simulator cases")
    case = SimulatorCase(tenant_id=tenant, created_by=actor)
    _fill(case, spec)
    if not await cases.add(case):
        raise AlreadyExists(f"name {case.name!r} is already used by another case")
    return case


async def get_case(session: AsyncSession, tenant_id: str, case_id: str) -> SimulatorCase:
    tenant = service.parse_id(tenant_id, "tenant_id")
    case = await SimulatorCaseRepository(session).get(tenant, _case_id(case_id))
    if case is None:
        raise NotFound("simulator case not found")
    return case


async def list_cases(session: AsyncSession, tenant_id: str) -> list[SimulatorCase]:
    return await SimulatorCaseRepository(session).find(service.parse_id(tenant_id, "tenant_id"))


async def update_case(session: AsyncSession, tenant_id: str, case_id: str, spec: CaseSpec) -> SimulatorCase:
    case = await get_case(session, tenant_id, case_id)
    simulator.validate_case(spec)
    _fill(case, spec)
    if not await SimulatorCaseRepository(session).save(case):
        raise AlreadyExists(f"name {spec.name.strip()!r} is already used by another case")
    return case


async def delete_case(session: AsyncSession, tenant_id: str, case_id: str) -> None:
    tenant = service.parse_id(tenant_id, "tenant_id")
    if not await SimulatorCaseRepository(session).delete(tenant, _case_id(case_id)):
        raise NotFound("simulator case not found")


async def cases_to_run(session: AsyncSession, tenant_id: str, case_ids: Sequence[str]) -> list[SimulatorCase]:
    """The named cases (all of them when none is named); an id of another tenant is NOT_FOUND."""
    tenant = service.parse_id(tenant_id, "tenant_id")
    ids = list(dict.fromkeys(_case_id(i) for i in case_ids)) or None
    cases = await SimulatorCaseRepository(session).find(tenant, ids)
    if ids is not None and len(cases) != len(ids):
        missing = sorted(str(i) for i in set(ids) - {c.id for c in cases})
        raise NotFound(f"simulator case {missing[0]} not found")
    if not cases:
        raise FailedPrecondition("there are no simulator cases to run")
    if len(cases) > MAX_CASES_PER_RUN:
        raise errors.BadValue("case_ids", f"a run may have at most {MAX_CASES_PER_RUN} cases")
    return cases


async def run_cases(
    tenant_id: str, cases: Sequence[SimulatorCase], model: Responder | None
) -> list[CaseOutcome]:
    gate = asyncio.Semaphore(RUN_CONCURRENCY)

    async def run_one(case: SimulatorCase) -> CaseOutcome:
        request = ReplyInput(
            tenant_id=tenant_id,
            lead_id="",
            lead_name=case.lead_name,
            history=simulator.turns_from_json(case.messages),
            profile=simulator.facts_from_json(case.profile),
        )
        async with gate:
            reply = await service.generate_reply(request, model)
        expected = simulator.expectations_from_json(case.expectations)
        return CaseOutcome(case, request, reply, simulator.check(expected, reply))

    return list(await asyncio.gather(*(run_one(c) for c in cases)))


async def save_run(
    session: AsyncSession,
    tenant_id: str,
    outcomes: Sequence[CaseOutcome],
    settings_version: int | None,
    window: tuple[datetime, datetime],
    actor: uuid.UUID | None,
) -> SimulatorRun:
    """The run and the call-log rows of its replies (flagged simulated), in the caller's transaction."""
    for outcome in outcomes:
        await service.record_call(session, outcome.request, outcome.reply, simulated=True)
    passed = sum(o.passed for o in outcomes)
    run = SimulatorRun(
        tenant_id=service.parse_id(tenant_id, "tenant_id"),
        settings_version=settings_version,
        created_by=actor,
        started_at=window[0],
        finished_at=window[1],
        passed=passed,
        failed=len(outcomes) - passed,
        results=[o.result_json() for o in outcomes],
    )
    await SimulatorRunRepository(session).add(run)
    return run


async def list_runs(session: AsyncSession, tenant_id: str, page_size: int) -> list[SimulatorRun]:
    if page_size < 0 or page_size > 100:
        raise errors.BadValue("page_size", "must be between 1 and 100")
    tenant = service.parse_id(tenant_id, "tenant_id")
    return await SimulatorRunRepository(session).latest(tenant, page_size or DEFAULT_RUNS_PAGE)
