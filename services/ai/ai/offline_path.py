"""GenerateReply without a model: the built-in responder, fed with the tenant's own data.

The rules in ai.offline stay pure; this adds what only the tenant service knows: the place names of
the catalog (so "agua verde" is the catalog's "Água Verde", and no place is invented), the greeting
and handoff rules of the AI settings, and matching listings — only catalog items, never made up.
Tenant data is cached per tenant for half to all of AI_TENANT_CACHE_SECONDS (a random part, so copies
filled together do not all fall due together), and refreshed in the background once older (the reply
uses the previous copy meanwhile), so a busy tenant costs its lookups once per refresh, not per
message. The settings and the catalog's places are read side by side. Catalog searches are cached for
up to thirty seconds. The ai service follows tenant's reply-data epoch (ai.server): when it moves,
the copies of the tenants that changed are refreshed on their next use (expire_tenants; every copy,
expire_all, when a niche changed), so a settings or catalog change applies within
about a second plus one reply, or within the cache time while the epoch cannot be read.
When the tenant service is down the lead still gets an answer (built-in defaults, no suggestions).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Set
from dataclasses import dataclass, replace

from ai import offline
from ai.extract import Fact, facts
from ai.reply import Generated, ReplyInput, from_offline
from ai.responder import SEARCH_FIELDS, profile_filters
from ai.tenant_port import (
    CACHE_MAX_TENANTS,
    JITTER,
    STALE_MAX_SECONDS,
    CatalogItem,
    CatalogPlaces,
    HandoffRules,
    PropertyFilters,
    TenantAiSettings,
    TenantPort,
)
from kit.cache import jittered
from kit.text import fold_letters

log = logging.getLogger(__name__)
# Tenant data this old is refreshed in the background (AI_TENANT_CACHE_SECONDS sets the service's).
CACHE_SECONDS = 10.0
# After a failed lookup: retry soon, but not on every message of a busy tenant.
FAILURE_CACHE_SECONDS = 10.0
SEARCH_CACHE_SECONDS = 30.0
SEARCH_CACHE_MAX = 20000
SUGGESTIONS = 3
# Used when the tenant's settings cannot be read: the niche's default rule.
DEFAULT_RULES = HandoffRules(score_threshold=70, keywords=(), on_human_request=True)
TITLE_CHARS = 70


@dataclass(frozen=True)
class TenantData:
    settings: TenantAiSettings
    places: CatalogPlaces


def money(reais: int) -> str:
    return "R$ " + f"{reais:,}".replace(",", ".")


def suggestion(item: CatalogItem) -> str:
    """One listing line, only from the catalog's own fields."""
    title = item.title if len(item.title) <= TITLE_CHARS else item.title[: TITLE_CHARS - 1].rstrip() + "…"
    parts = [f"• {item.code}", title]
    if item.price:
        parts.append(money(item.price) + ("/mês" if item.purpose == "rent" else ""))
    parts += [p for p in (item.neighbourhood, item.url) if p]
    return " — ".join(parts)


def search_filters(profile: dict[str, Fact], places: CatalogPlaces) -> PropertyFilters:
    """The profile as catalog filters; a region that is one of the catalog's cities filters the city."""
    filters = profile_filters({name: fact.value for name, fact in profile.items()})
    region = filters.neighbourhood
    if region:
        key = fold_letters(region)
        is_city = any(fold_letters(c) == key for c in places.cities)
        is_neighbourhood = any(fold_letters(n) == key for n in places.neighbourhoods)
        if is_city and not is_neighbourhood:
            filters = replace(filters, neighbourhood=None, city=region)
    return replace(filters, limit=SUGGESTIONS)


class OfflineResponder:
    def __init__(self, tenants: TenantPort, cache_seconds: float = CACHE_SECONDS) -> None:
        self.tenants = tenants
        self.cache_seconds = cache_seconds
        # tenant id → (fresh until, usable until, data)
        self._cache: dict[str, tuple[float, float, TenantData]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._searches: dict[tuple[str, PropertyFilters], tuple[float, list[CatalogItem]]] = {}
        # Moved by expire_all, and per tenant by expire_tenants: lookups begun before store stale copies.
        self._generation = 0
        self._tenant_generations: dict[str, int] = {}

    def expire_all(self) -> None:
        """Tenant data changed somewhere (the reply-data epoch moved): every copy is refreshed on its
        next use (served meanwhile, as any stale copy), and every catalog search is forgotten."""
        self._generation += 1
        self._expire(set(self._cache))
        self._searches.clear()

    def expire_tenants(self, tenant_ids: frozenset[str]) -> None:
        """These tenants' data changed: what expire_all() does, for them only."""
        for tenant_id in tenant_ids:
            self._tenant_generations[tenant_id] = self._tenant_generations.get(tenant_id, 0) + 1
        self._expire(tenant_ids)
        self._searches = {k: v for k, v in self._searches.items() if k[0] not in tenant_ids}

    def _expire(self, tenant_ids: Set[str]) -> None:
        now = time.monotonic()
        for tenant_id in tenant_ids & self._cache.keys():
            fresh, usable, data = self._cache[tenant_id]
            self._cache[tenant_id] = (min(fresh, now), usable, data)

    def _generation_of(self, tenant_id: str) -> tuple[int, int]:
        return self._generation, self._tenant_generations.get(tenant_id, 0)

    async def respond(self, request: ReplyInput) -> Generated:
        data = await self.tenant_data(request.tenant_id)
        vocabulary = data.places.names
        profile = offline.read_profile(request.history, request.profile, vocabulary)
        fresh = facts(offline.latest_lead_turns(request.history), vocabulary)
        found = (
            await self.suggest(request.tenant_id, profile, data.places)
            if fresh.keys() & SEARCH_FIELDS
            else []
        )
        rules = data.settings.handoff
        options = offline.Options(
            greeting=data.settings.greeting,
            suggestions=[suggestion(i) for i in found],
            handoff_score=rules.score_threshold,
            handoff_keywords=rules.keywords,
            on_human_request=rules.on_human_request,
        )
        return from_offline(
            offline.respond(request.lead_name, request.history, request.profile, vocabulary, options)
        )

    async def suggest(
        self, tenant_id: str, profile: dict[str, Fact], places: CatalogPlaces
    ) -> list[CatalogItem]:
        filters = search_filters(profile, places)
        now = time.monotonic()
        hit = self._searches.get((tenant_id, filters))
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation_of(tenant_id)
        try:
            found = (await self.tenants.search_properties(tenant_id, filters))[:SUGGESTIONS]
        except Exception:
            log.exception("catalog search for the built-in responder failed")
            return []
        if generation != self._generation_of(tenant_id):  # the catalog may have changed while it ran
            return found
        if len(self._searches) >= SEARCH_CACHE_MAX:
            self._searches = {k: v for k, v in self._searches.items() if v[0] > now}
        self._searches[(tenant_id, filters)] = (
            now + jittered(min(SEARCH_CACHE_SECONDS, self.cache_seconds), JITTER),
            found,
        )
        return found

    async def tenant_data(self, tenant_id: str) -> TenantData:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[0] > now:
            return cached[2]
        if cached is not None and cached[1] > now:
            self._refresh_soon(tenant_id)  # this reply uses the copy it has
            return cached[2]
        return await self._store(tenant_id)

    def _refresh_soon(self, tenant_id: str) -> None:
        if tenant_id in self._refreshing:
            return
        task = asyncio.get_running_loop().create_task(self._refresh(tenant_id))
        self._refreshing[tenant_id] = task

    async def _refresh(self, tenant_id: str) -> None:
        try:
            await self._store(tenant_id)
        finally:
            self._refreshing.pop(tenant_id, None)

    async def _store(self, tenant_id: str) -> TenantData:
        generation = self._generation_of(tenant_id)
        data, failed = await self._load(tenant_id)
        now = time.monotonic()
        previous = self._cache.get(tenant_id)
        if failed and previous is not None and previous[1] > now:
            # Keep the last good copy while it may still be used; ask again a little later.
            self._cache[tenant_id] = (now + FAILURE_CACHE_SECONDS, previous[1], previous[2])
            return previous[2]
        if len(self._cache) >= CACHE_MAX_TENANTS:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        if failed:  # the defaults serve a while, and are never used stale
            until = now + FAILURE_CACHE_SECONDS
            self._cache[tenant_id] = (until, until, data)
        else:
            # Read before the epoch moved: usable, but due for a refresh at once.
            current = generation == self._generation_of(tenant_id)
            fresh_for = jittered(self.cache_seconds, JITTER) if current else 0.0
            self._cache[tenant_id] = (now + fresh_for, now + max(STALE_MAX_SECONDS, self.cache_seconds), data)
        return data

    async def _load(self, tenant_id: str) -> tuple[TenantData, bool]:
        """The tenant's data, and whether a lookup failed (built-in defaults stand in for it)."""
        settings, places = await asyncio.gather(
            self.tenants.ai_settings(tenant_id),
            self.tenants.catalog_places(tenant_id),
            return_exceptions=True,
        )
        for outcome in (settings, places):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancellation and the like are not a failed lookup
        failed = False
        if isinstance(settings, BaseException):
            log.warning("tenant AI settings unavailable for the built-in responder: %s", settings)
            settings, failed = TenantAiSettings(handoff=DEFAULT_RULES), True
        if isinstance(places, BaseException):
            log.warning("catalog places unavailable for the built-in responder: %s", places)
            places, failed = CatalogPlaces(), True
        return TenantData(settings, places), failed
