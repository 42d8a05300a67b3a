"""What the ai service needs from the tenant service, and its gRPC implementation.

Every call is made on behalf of the tenant of the GenerateReply request (role "service" bound to
that tenant), so the tenant service itself refuses anything outside it — the model never chooses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from kit import context as callctx
from kit.catalog_terms import candidates
from kit.context import CallContext
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

SERVICE_ROLE = "service"
# How both responders keep a tenant's data (AI_TENANT_CACHE_SECONDS is the time): each copy stays
# fresh for a random part of that, between (1 - JITTER) and 1 times it, so copies filled together (a
# restart, a burst over many tenants) go stale apart, not in one burst of lookups; a copy older than
# STALE_MAX_SECONDS is not used (the reply waits for the tenant service); at most CACHE_MAX_TENANTS.
JITTER = 0.5
STALE_MAX_SECONDS = 60.0
CACHE_MAX_TENANTS = 5000
NICHE_CACHE_SECONDS = 300.0
# MatchProducts reads this much of a message.
MATCH_TEXT_CHARS = 2000
DEFAULT_FALLBACK = (
    "Desculpe, não consegui responder agora. Um de nossos atendentes vai falar com você em breve."
)


@dataclass(frozen=True)
class HandoffRules:
    score_threshold: int = 0
    keywords: tuple[str, ...] = ()
    on_human_request: bool = True


@dataclass(frozen=True)
class TenantAiSettings:
    system_prompt: str = ""
    tone: str = ""
    company_info: str = ""
    business_hours: str = ""
    greeting: str = ""
    fallback_message: str = DEFAULT_FALLBACK
    handoff: HandoffRules = field(default_factory=HandoffRules)
    model: str = "gpt-4o"
    temperature: float = 0.4
    niche_template: str = ""
    # The settings version these are (None when unknown), so a simulator run can name it.
    version: int | None = None


@dataclass(frozen=True)
class CatalogItem:
    code: str
    title: str
    type: str = ""
    purpose: str = ""  # "sale" | "rent"
    price: int | None = None  # reais
    condo_fee: int | None = None
    bedrooms: int | None = None
    area_m2: float | None = None
    neighbourhood: str = ""
    city: str = ""
    url: str = ""


@dataclass(frozen=True)
class PropertyFilters:
    purpose: str | None = None  # "buy" | "rent"
    type: str | None = None
    city: str | None = None
    neighbourhood: str | None = None
    min_bedrooms: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    text: str | None = None
    limit: int = 3


@dataclass(frozen=True)
class CatalogPlaces:
    """The neighbourhoods and cities of the tenant's available listings (the catalog's spelling)."""

    neighbourhoods: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.neighbourhoods + self.cities


@dataclass(frozen=True)
class TriggerTerms:
    """What MatchProducts can match in a tenant's catalog (tenant's ListTriggerTerms): listing code
    keys and folded trigger keywords; when not `complete`, the catalog had too many to list."""

    code_keys: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    complete: bool = False

    def named_in(self, text: str) -> frozenset[str] | None:
        """The catalog's code keys and keywords ("keyword:" before each) in `text`, by the rules
        MatchProducts itself matches with, so what MatchProducts finds in `text` depends on these
        alone; empty when it can find nothing; None when the terms are not complete."""
        if not self.complete:
            return None
        codes, named = candidates(text[:MATCH_TEXT_CHARS])
        return self.code_keys.intersection(codes) | {
            f"keyword:{k}" for k in self.keywords.intersection(named)
        }


class TenantPort(Protocol):
    async def ai_settings(self, tenant_id: str) -> TenantAiSettings: ...

    async def search_properties(self, tenant_id: str, filters: PropertyFilters) -> list[CatalogItem]: ...

    async def match_triggers(self, tenant_id: str, text: str) -> list[CatalogItem]: ...

    async def catalog_places(self, tenant_id: str) -> CatalogPlaces: ...

    async def trigger_terms(self, tenant_id: str) -> TriggerTerms: ...


@contextmanager
def acting_for(tenant_id: str, role: str = SERVICE_ROLE) -> Iterator[None]:
    """Outgoing calls carry this tenant (and not whatever role the incoming call had)."""
    incoming = callctx.get()
    token = callctx.current.set(CallContext(tenant_id=tenant_id, role=role, request_id=incoming.request_id))
    try:
        yield
    finally:
        callctx.current.reset(token)


def _reais(cents: int | None) -> int | None:
    return None if cents is None else round(cents / 100)


def decode_product(product: tpb.Product) -> CatalogItem:
    f = product.fields
    return CatalogItem(
        code=f.code,
        title=f.title,
        type=f.type,
        purpose={tpb.PRODUCT_PURPOSE_SALE: "sale", tpb.PRODUCT_PURPOSE_RENT: "rent"}.get(f.purpose, ""),
        price=_reais(f.price_cents) if f.HasField("price_cents") else None,
        condo_fee=_reais(f.condo_fee_cents) if f.HasField("condo_fee_cents") else None,
        bedrooms=f.bedrooms if f.HasField("bedrooms") else None,
        area_m2=f.area_m2 if f.HasField("area_m2") else None,
        neighbourhood=f.neighbourhood,
        city=f.city,
        url=f.listing_url,
    )


def encode_filters(tenant_id: str, filters: PropertyFilters) -> tpb.SearchProductsRequest:
    purposes = {"buy": tpb.PRODUCT_PURPOSE_SALE, "rent": tpb.PRODUCT_PURPOSE_RENT}
    request = tpb.SearchProductsRequest(
        tenant_id=tenant_id,
        text=filters.text or "",
        purpose=purposes.get(filters.purpose or "", tpb.PRODUCT_PURPOSE_UNSPECIFIED),
        type=filters.type or "",
        city=filters.city or "",
        neighbourhood=filters.neighbourhood or "",
        min_bedrooms=filters.min_bedrooms or 0,
        page_size=filters.limit,
    )
    if filters.min_price is not None:
        request.min_price_cents = filters.min_price * 100
    if filters.max_price is not None:
        request.max_price_cents = filters.max_price * 100
    return request


def decode_settings(
    current: tpb.AiSettings, niche_template: str, version: int | None = None
) -> TenantAiSettings:
    rules = current.handoff
    return TenantAiSettings(
        system_prompt=current.system_prompt,
        tone=current.tone,
        company_info=current.company_info,
        business_hours=current.business_hours,
        greeting=current.greeting,
        fallback_message=current.fallback_message.strip() or DEFAULT_FALLBACK,
        handoff=HandoffRules(rules.score_threshold, tuple(rules.keywords), rules.on_human_request),
        model=current.model or "gpt-4o",
        temperature=current.temperature,
        niche_template=niche_template,
        version=version,
    )


@dataclass(frozen=True)
class ReplyDataChanges:
    """GetReplyDataChanges' answer: the epoch now, and whose cached data is due for a refresh."""

    epoch: int
    everyone: bool
    tenant_ids: frozenset[str]


class GrpcTenantPort:
    def __init__(self, stub: tpb_grpc.TenantServiceStub) -> None:
        self.stub = stub
        self._niches: dict[int, str] = {}
        self._niches_at = 0.0

    async def reply_data_changes(self, since: int) -> ReplyDataChanges:
        """tenant's reply-data epoch, which moves whenever settings, catalogs or niches may have
        changed, and whose data changed after `since` (0: none seen yet, so everyone's)."""
        with acting_for("", role=""):  # a system call: it names tenants across the platform
            reply = await self.stub.GetReplyDataChanges(tpb.GetReplyDataChangesRequest(since_epoch=since))
        return ReplyDataChanges(int(reply.reply_data_epoch), reply.everyone, frozenset(reply.tenant_ids))

    def expire_all(self) -> None:
        """The reply-data epoch moved: read the niches again on next use."""
        self._niches_at = 0.0

    async def ai_settings(self, tenant_id: str) -> TenantAiSettings:
        async def current() -> tpb.GetAiSettingsResponse:
            with acting_for(tenant_id):
                return await self.stub.GetAiSettings(tpb.GetAiSettingsRequest(tenant_id=tenant_id))

        # Two independent reads: side by side, so a cold cache waits for one round trip, not two.
        reply, template = await asyncio.gather(current(), self._niche_template(tenant_id))
        return decode_settings(reply.current.settings, template, reply.current.version)

    async def _niche_template(self, tenant_id: str) -> str:
        # GetTenant and ListNiches are system reads (no role); niches change only with a deploy.
        with acting_for(tenant_id, role=""):
            tenant = (await self.stub.GetTenant(tpb.GetTenantRequest(tenant_id=tenant_id))).tenant
            if not self._niches_at or time.monotonic() - self._niches_at > NICHE_CACHE_SECONDS:
                niches = (await self.stub.ListNiches(tpb.ListNichesRequest())).niches
                self._niches = {n.id: n.prompt_template for n in niches}
                self._niches_at = time.monotonic()
        return self._niches.get(tenant.niche_id, "").replace("{company_name}", tenant.name)

    async def search_properties(self, tenant_id: str, filters: PropertyFilters) -> list[CatalogItem]:
        with acting_for(tenant_id):
            reply = await self.stub.SearchProducts(encode_filters(tenant_id, filters))
        return [decode_product(hit.product) for hit in reply.hits]

    async def match_triggers(self, tenant_id: str, text: str) -> list[CatalogItem]:
        with acting_for(tenant_id):
            reply = await self.stub.MatchProducts(
                tpb.MatchProductsRequest(tenant_id=tenant_id, text=text[:MATCH_TEXT_CHARS], limit=5)
            )
        return [decode_product(m.product) for m in reply.matches]

    async def catalog_places(self, tenant_id: str) -> CatalogPlaces:
        with acting_for(tenant_id):
            reply = await self.stub.ListCatalogPlaces(tpb.ListCatalogPlacesRequest(tenant_id=tenant_id))
        return CatalogPlaces(tuple(reply.neighbourhoods), tuple(reply.cities))

    async def trigger_terms(self, tenant_id: str) -> TriggerTerms:
        with acting_for(tenant_id):
            reply = await self.stub.ListTriggerTerms(tpb.ListTriggerTermsRequest(tenant_id=tenant_id))
        return TriggerTerms(frozenset(reply.code_keys), frozenset(reply.keywords), reply.complete)
