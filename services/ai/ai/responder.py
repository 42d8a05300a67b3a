"""The model path of GenerateReply: context → bounded tool loop → checks → result, or the fallback.

Any model failure (timeout, error status, answers that keep breaking the tool schema) gives the
tenant's fallback message with retry_later, so the lead hears from us within the deadline and the job
is re-run when the model is back. Unsafe answers (canary leak, unbacked price) give a safe reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from ai import guard, offline, prompt, tools
from ai.breaker import CircuitBreaker
from ai.config import Settings
from ai.extract import Fact, handoff_request
from ai.model import ChatClient, Deadline, ModelUnavailable
from ai.reply import Generated, Outcome, ReplyInput
from ai.tenant_port import (
    CACHE_MAX_TENANTS,
    DEFAULT_FALLBACK,
    JITTER,
    STALE_MAX_SECONDS,
    CatalogItem,
    PropertyFilters,
    TenantAiSettings,
    TenantPort,
    TriggerTerms,
)
from ai.toolrun import ToolRun, tool_message
from kit.cache import TtlCache
from kit.text import fold_letters

log = logging.getLogger(__name__)
SAFE_PRICE_REPLY = (
    "Sobre valores e condições, prefiro confirmar com um de nossos corretores para te passar a "
    "informação correta. Posso pedir para um corretor falar com você?"
)
CONTEXT_CATALOG_LIMIT = 5
# MatchProducts answers kept (each at most five listings), across tenants.
MATCHES_MAX = 20_000
# The profile fields that make catalog filters (profile_filters).
SEARCH_FIELDS = frozenset({"purpose", "property_type", "region", "bedrooms", "budget"})


class InvalidAnswer(Exception):
    """The model answered, but not in a shape we can use, even after one retry."""


def pending_lead_text(request: ReplyInput) -> str:
    return "\n".join(offline.latest_lead_turns(request.history))


def lead_texts(request: ReplyInput) -> list[str]:
    return [t.text for t in request.history if t.role == offline.LEAD]


class ModelResponder:
    def __init__(
        self, chat: ChatClient, tenants: TenantPort, breaker: CircuitBreaker, settings: Settings, canary: str
    ) -> None:
        self.chat = chat
        self.tenants = tenants
        self.breaker = breaker
        self.settings = settings
        self.canary = canary
        # Kept as the built-in responder keeps them (ai.tenant_port's terms), refreshed in the
        # background once stale and at once when tenant's reply-data epoch moves. Read per reply,
        # they cost two calls to the tenant service (GetAiSettings, GetTenant) on every reply's path.
        self._tenant_settings: TtlCache[str, TenantAiSettings] = tenant_cache(settings, "ai_settings")
        # The same for the catalog's trigger terms: a message containing none of them cannot name a
        # listing, and MatchProducts (a tenant call on every reply) is not asked about it.
        self._trigger_terms: TtlCache[str, TriggerTerms] = tenant_cache(settings, "ai_trigger_terms")
        # MatchProducts' answers, by tenant and the catalog terms the text held.
        self._matches: TtlCache[tuple[str, frozenset[str]], list[CatalogItem]] = tenant_cache(
            settings, "ai_matches", MATCHES_MAX
        )

    async def aclose(self) -> None:
        """Close the model client's connections (its aiohttp session)."""
        await self.chat.client.close()

    def expire_all(self) -> None:
        """Tenant data changed somewhere (the reply-data epoch moved): every tenant's settings, trigger
        terms and matches are read again on next use (the copy answers meanwhile, as any stale copy)."""
        self._tenant_settings.expire_all()
        self._trigger_terms.expire_all()
        self._matches.expire_all()

    def expire_tenants(self, tenant_ids: frozenset[str]) -> None:
        """These tenants' data changed: their settings, trigger terms and matches are read again on
        next use (as by expire_all); the other tenants' copies stay fresh."""
        self._tenant_settings.expire_where(tenant_ids.__contains__)
        self._trigger_terms.expire_where(tenant_ids.__contains__)
        self._matches.expire_where(lambda key: key[0] in tenant_ids)

    async def tenant_settings(self, tenant_id: str) -> TenantAiSettings:
        found = await self._tenant_settings.get(tenant_id, lambda: self.tenants.ai_settings(tenant_id))
        if found is None:  # only a loader raising Missing caches a miss; ai_settings never does
            raise LookupError("no AI settings")
        return found

    async def respond(self, request: ReplyInput) -> Generated:
        deadline = Deadline(self.settings.ai_timeout_seconds)
        try:
            tenant = await self.tenant_settings(request.tenant_id)
        except Exception:
            log.exception("tenant AI settings unavailable")
            return fallback(request, TenantAiSettings(), Outcome.ERROR, "gpt-4o")
        if not self.breaker.allow():
            return fallback(request, tenant, Outcome.BREAKER_OPEN, tenant.model)
        run = ToolRun(
            request.tenant_id, lead_texts(request), self.tenants, {f.name: f for f in request.profile}
        )
        usage = [0, 0]
        try:
            text = await self._converse(request, tenant, run, deadline, usage)
        except ModelUnavailable as failure:
            log.warning("model unavailable: %s", failure)
            self.breaker.record_failure()
            return fallback(request, tenant, Outcome.FALLBACK, tenant.model, usage)
        except InvalidAnswer as failure:
            log.warning("model answer unusable: %s", failure)
            self.breaker.record_success()
            return fallback(request, tenant, Outcome.FALLBACK, tenant.model, usage)
        except Exception:
            log.exception("reply failed")
            self.breaker.release()
            return fallback(request, tenant, Outcome.ERROR, tenant.model, usage)
        self.breaker.record_success()
        return finish(request, tenant, run, text, self.canary, self.settings.ai_max_reply_chars, usage)

    async def _context_catalog(self, request: ReplyInput) -> list[CatalogItem]:
        try:
            return await self._lookup_catalog(request)
        except Exception:
            # The model can still answer (and search) without the pre-fetched listings.
            log.exception("catalog lookup for the context failed")
            return []

    async def _lookup_catalog(self, request: ReplyInput) -> list[CatalogItem]:
        found = await self._named_listings(request.tenant_id, pending_lead_text(request))
        known = {f.name: f.value for f in request.profile}
        if known.keys() & SEARCH_FIELDS:
            found += await self.tenants.search_properties(request.tenant_id, profile_filters(known))
        unique = {item.code: item for item in found}
        return list(unique.values())[:CONTEXT_CATALOG_LIMIT]

    async def _named_listings(self, tenant_id: str, text: str) -> list[CatalogItem]:
        """The listings `text` names by code or trigger keyword (MatchProducts). Asked only about a
        text holding one of the catalog's terms, and kept by the terms it holds: what MatchProducts
        finds depends on those alone, so leads naming the same listing cost one call."""
        try:
            terms = await self._trigger_terms.get(tenant_id, lambda: self.tenants.trigger_terms(tenant_id))
        except Exception as error:
            log.warning("trigger terms unavailable (%s): asking MatchProducts", type(error).__name__)
            terms = None
        named = terms.named_in(text) if terms is not None else None
        if named is None:
            return await self.tenants.match_triggers(tenant_id, text)
        if not named:
            return []
        found = await self._matches.get(
            (tenant_id, named), lambda: self.tenants.match_triggers(tenant_id, text)
        )
        return list(found or [])

    async def _converse(
        self,
        request: ReplyInput,
        tenant: TenantAiSettings,
        run: ToolRun,
        deadline: Deadline,
        usage: list[int],
    ) -> str:
        for item in await self._context_catalog(request):
            run.catalog[item.code] = item
        messages = prompt.build(
            tenant,
            canary=self.canary,
            lead_name=request.lead_name,
            profile=list(request.profile),
            catalog=list(run.catalog.values()),
            history=request.history,
            budget_tokens=self.settings.ai_history_token_budget,
            max_message_chars=self.settings.ai_max_message_chars,
            max_reply_chars=self.settings.ai_max_reply_chars,
        )
        retries_left = 1
        for _ in range(self.settings.ai_max_tool_rounds):
            message = await self._ask(tenant, messages, deadline, usage)
            try:
                text = await self._handle(message, messages, run)
            except (tools.InvalidToolCall, InvalidAnswer) as problem:
                if retries_left == 0:
                    raise InvalidAnswer(str(problem)) from None
                log.info("model answer broke the schema (%s): asking again", problem)
                retries_left -= 1
                continue
            if text is not None:
                return text
        raise InvalidAnswer(f"no reply after {self.settings.ai_max_tool_rounds} tool rounds")

    async def _ask(
        self, tenant: TenantAiSettings, messages: list[dict[str, Any]], deadline: Deadline, usage: list[int]
    ) -> Any:
        completion = await self.chat.complete(
            deadline,
            model=tenant.model,
            messages=messages,
            tools=tools.schemas(),
            max_tokens=self.settings.ai_max_tokens,
            temperature=tenant.temperature,
        )
        if completion.usage is not None:
            usage[0] += completion.usage.prompt_tokens
            usage[1] += completion.usage.completion_tokens
        if not completion.choices:
            raise InvalidAnswer("no choices")
        return completion.choices[0].message

    async def _handle(self, message: Any, messages: list[dict[str, Any]], run: ToolRun) -> str | None:
        """The reply text, or None after running the tools (the model speaks again)."""
        if not message.tool_calls:
            text = (message.content or "").strip()
            if not text:
                raise InvalidAnswer("empty answer")
            return text
        # Validate every call before running any, so a broken answer has no side effects.
        parsed = [
            (call, tools.parse(call.function.name, call.function.arguments)) for call in message.tool_calls
        ]
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c, _ in parsed
                ],
            }
        )
        for call, arguments in parsed:
            messages.append(tool_message(call.id, await run.execute(call.function.name, arguments)))
        return None


def tenant_cache(settings: Settings, name: str, max_entries: int = CACHE_MAX_TENANTS) -> TtlCache[Any, Any]:
    """A cache of tenant data on the built-in responder's terms (ai.tenant_port)."""
    ttl = settings.ai_tenant_cache_seconds
    return TtlCache(
        ttl,
        negative_ttl=ttl,  # never used: the loaders have no "missing", they raise
        max_entries=max_entries,
        jitter=JITTER,
        max_stale=max(STALE_MAX_SECONDS, ttl),
        name=name,
    )


def profile_filters(known: dict[str, str]) -> PropertyFilters:
    budget = known.get("budget", "")
    bedrooms = known.get("bedrooms", "")
    return PropertyFilters(
        purpose=known.get("purpose"),
        # The catalog's types are Portuguese words ("apartamento"), the profile's are codes.
        type=offline.VALUE_NAMES["property_type"].get(known.get("property_type", "")) or None,
        neighbourhood=known.get("region"),
        min_bedrooms=int(bedrooms) if bedrooms.isdigit() else None,
        max_price=int(budget) if budget.isdigit() else None,
    )


def allowed_amounts(request: ReplyInput, run: ToolRun) -> list[int]:
    """Money the reply may mention: the catalog in context and what the lead itself said."""
    allowed = [v for i in run.catalog.values() for v in (i.price, i.condo_fee) if v]
    allowed += [int(f.value) for f in run.facts.values() if f.name == "budget" and f.value.isdigit()]
    for text in lead_texts(request):
        allowed += guard.amounts(text)
    return allowed


def finish(
    request: ReplyInput,
    tenant: TenantAiSettings,
    run: ToolRun,
    text: str,
    canary: str,
    max_chars: int,
    usage: Sequence[int],
) -> Generated:
    outcome = Outcome.OK
    if guard.leaks_canary(text, canary):
        log.warning("model reply contained the canary: replaced by the fallback")
        text, outcome = tenant.fallback_message, Outcome.FALLBACK
    elif unbacked := guard.unbacked_amounts(text, allowed_amounts(request, run)):
        log.warning("model reply mentioned %d unbacked amount(s): replaced by a safe reply", len(unbacked))
        text, outcome = SAFE_PRICE_REPLY, Outcome.FALLBACK
    score, reasons = offline.score(run.facts)
    reason = run.handoff_reason or rule_handoff(request, tenant, score)
    return Generated(
        text=guard.cap_length(text, max_chars),
        profile=ordered(run.facts),
        score=score,
        score_reasons=reasons,
        outcome=outcome,
        model=tenant.model,
        handoff=reason is not None,
        handoff_reason=reason or "",
        tool_calls=run.records,
        prompt_tokens=usage[0],
        completion_tokens=usage[1],
    )


def rule_handoff(request: ReplyInput, tenant: TenantAiSettings, score: int) -> str | None:
    """The tenant's own handoff rules, applied in code whatever the model decided."""
    rules = tenant.handoff
    pending = pending_lead_text(request)
    if rules.on_human_request and (asked := handoff_request(pending)):
        return f"o lead pediu para falar com uma pessoa: “{asked}”"
    folded = fold_letters(pending)
    for keyword in filter(None, (k.strip() for k in rules.keywords)):
        if re.search(rf"\b{re.escape(fold_letters(keyword))}\b", folded):
            return f"palavra-chave de transferência: “{keyword}”"
    if rules.score_threshold and score >= rules.score_threshold:
        return f"pontuação {score} atingiu o limite de {rules.score_threshold}"
    return None


def ordered(facts: dict[str, Fact]) -> list[Fact]:
    return [facts[n] for n in offline.WEIGHTS if n in facts] + [
        f for n, f in facts.items() if n not in offline.WEIGHTS
    ]


def fallback(
    request: ReplyInput,
    tenant: TenantAiSettings,
    outcome: Outcome,
    model: str,
    usage: Sequence[int] = (0, 0),
) -> Generated:
    """The tenant's fallback message; the qualification still advances with the built-in extractor."""
    base = offline.respond(request.lead_name, request.history, request.profile)
    window_open = request.window_open()
    return Generated(
        text=tenant.fallback_message or DEFAULT_FALLBACK,
        profile=base.profile,
        score=base.score,
        score_reasons=base.score_reasons,
        outcome=outcome,
        model=model,
        handoff=not window_open,
        handoff_reason="" if window_open else "o modelo falhou e a janela de 24 h do lead já fechou",
        prompt_tokens=usage[0],
        completion_tokens=usage[1],
        retry_later=window_open,
    )
