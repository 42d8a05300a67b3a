"""SQL for channels' settings, AI settings versions and the product catalog."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kit import db
from kit.catalog_terms import LONGEST_PHRASE
from tenant.models_catalog import AiSettingsVersion, ChannelConfig, Product

BATCH = 2000


class ChannelConfigRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, tenant_id: uuid.UUID) -> Sequence[ChannelConfig]:
        query = select(ChannelConfig).where(ChannelConfig.tenant_id == tenant_id)
        return (await self.session.execute(query.order_by(ChannelConfig.created_at))).scalars().all()

    async def get(self, channel_id: uuid.UUID, tenant_id: uuid.UUID | None) -> ChannelConfig | None:
        """`tenant_id` None only for the internal credentials lookup (role "service")."""
        query = select(ChannelConfig).where(ChannelConfig.id == channel_id)
        if tenant_id is not None:
            query = query.where(ChannelConfig.tenant_id == tenant_id)
        return (await self.session.execute(query.with_for_update())).scalar_one_or_none()

    async def by_external_id(
        self, tenant_id: uuid.UUID, provider: str, external_id: str
    ) -> ChannelConfig | None:
        query = select(ChannelConfig).where(
            ChannelConfig.tenant_id == tenant_id,
            ChannelConfig.provider == provider,
            ChannelConfig.external_id == external_id,
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def save(self, channel: ChannelConfig) -> bool:
        """False when another channel already has this provider identity."""
        try:
            async with self.session.begin_nested():
                self.session.add(channel)
                await self.session.flush()
        except IntegrityError:
            return False
        await self.session.refresh(channel)
        return True

    async def delete(self, channel: ChannelConfig) -> None:
        await self.session.delete(channel)
        await self.session.flush()


class AiSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, tenant_id: uuid.UUID) -> None:
        """Serialise version numbering per tenant."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(0x41A15E, func.hashtext(str(tenant_id))))
        )

    async def latest(self, tenant_id: uuid.UUID) -> AiSettingsVersion | None:
        query = (
            select(AiSettingsVersion)
            .where(AiSettingsVersion.tenant_id == tenant_id)
            .order_by(AiSettingsVersion.version.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, tenant_id: uuid.UUID, version: int) -> AiSettingsVersion | None:
        query = select(AiSettingsVersion).where(
            AiSettingsVersion.tenant_id == tenant_id, AiSettingsVersion.version == version
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def page(self, tenant_id: uuid.UUID, limit: int, before: int) -> Sequence[AiSettingsVersion]:
        query = select(AiSettingsVersion).where(AiSettingsVersion.tenant_id == tenant_id)
        if before > 0:
            query = query.where(AiSettingsVersion.version < before)
        query = query.order_by(AiSettingsVersion.version.desc()).limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def add(self, row: AiSettingsVersion) -> AiSettingsVersion:
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row


@dataclass
class SearchFilters:
    text_query: str = ""  # already folded words, OR-ed, each as a prefix
    purpose: str = ""
    type_norm: str = ""
    city_norm: str = ""
    neighbourhood_norm: str = ""
    min_bedrooms: int = 0
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    min_parking_spots: int = 0
    statuses: tuple[str, ...] = ("available",)


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: uuid.UUID, tenant_id: uuid.UUID) -> Product | None:
        query = select(Product).where(Product.id == product_id, Product.tenant_id == tenant_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def save(self, product: Product) -> bool:
        """False when the tenant already has a product with this code."""
        try:
            async with self.session.begin_nested():
                self.session.add(product)
                await self.session.flush()
        except IntegrityError:
            return False
        await self.session.refresh(product)
        return True

    async def delete(self, product: Product) -> None:
        await self.session.delete(product)
        await self.session.flush()

    async def page(
        self, tenant_id: uuid.UUID, statuses: Sequence[str], limit: int, offset: int
    ) -> tuple[Sequence[Product], int]:
        where: list[ColumnElement[bool]] = [Product.tenant_id == tenant_id]
        if statuses:
            where.append(Product.status.in_(statuses))
        total = (
            await self.session.execute(select(func.count()).select_from(Product).where(*where))
        ).scalar_one()
        query = select(Product).where(*where).order_by(Product.code_key).limit(limit).offset(offset)
        return (await self.session.execute(query)).scalars().all(), int(total)

    async def by_code_keys(self, tenant_id: uuid.UUID, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored products by code key, as plain column dicts (cheap for thousands of rows)."""
        columns = [c for c in Product.__table__.c if c.name not in ("search_vector", "tenant_id")]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 5000):
            query = select(*columns).where(
                Product.tenant_id == tenant_id, Product.code_key.in_(keys[start : start + 5000])
            )
            for row in (await self.session.execute(query)).mappings():
                found[row["code_key"]] = dict(row)
        return found

    async def upsert(self, tenant_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
        """INSERT … ON CONFLICT (tenant_id, code_key) DO UPDATE, sent as batched executemany.

        One compiled statement for every row: compiling a multi-VALUES statement per batch costs
        more than the database work.
        """
        if not rows:
            return
        statement = insert(Product)
        # The stored spelling of the code stays ("AP-1234" is not renamed by a row saying "ap1234").
        changed: dict[str, Any] = {c: statement.excluded[c] for c in rows[0] if c != "code"}
        changed["updated_at"] = func.now()
        statement = statement.on_conflict_do_update(constraint="uq_products_tenant_code", set_=changed)
        for start in range(0, len(rows), BATCH):
            batch = [{"id": uuid.uuid4(), "tenant_id": tenant_id, **r} for r in rows[start : start + BATCH]]
            await self.session.execute(statement, batch)

    async def search(
        self, tenant_id: uuid.UUID, filters: SearchFilters, limit: int, offset: int
    ) -> tuple[list[tuple[Product, float]], int]:
        query = _filtered(select(Product), tenant_id, filters)
        if filters.text_query:
            tsquery = func.to_tsquery(literal_column("'portuguese'::regconfig"), filters.text_query)
            rank = func.ts_rank_cd(Product.search_vector, tsquery, 1)
            query = query.add_columns(rank.label("rank")).where(Product.search_vector.op("@@")(tsquery))
            query = query.order_by(text("rank DESC"), Product.code_key)
        else:
            query = query.add_columns(literal_column("0.0").label("rank")).order_by(Product.code_key)
        total = (
            await self.session.execute(select(func.count()).select_from(query.order_by(None).subquery()))
        ).scalar_one()
        result = await self.session.execute(query.limit(limit).offset(offset))
        return [(row[0], float(row[1])) for row in result.all()], int(total)


# MatchProducts runs on every model reply: one statement straight on the driver, no ORM session and
# no BEGIN/COMMIT (they were about half of the call's CPU in the tenant service). Its columns are the
# model's, so the two cannot drift; the tsvector is left out (nothing reads it back).
_MATCH_COLUMNS = tuple(c for c in Product.__table__.columns if c.key != "search_vector")
_MATCH_KEYS = tuple(c.key for c in _MATCH_COLUMNS)
MATCHING = db.Raw(
    f"SELECT {', '.join(c.name for c in _MATCH_COLUMNS)} FROM tenant.products "
    "WHERE tenant_id = :tenant_id AND status <> 'inactive' "
    "AND (code_key = ANY(:code_keys) OR keywords_norm && :phrases) "
    "ORDER BY code_key LIMIT :limit"
)


class ProductMatchRepository:
    """The products a message names, read on a pooled connection (no session, no transaction)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def matching(
        self, tenant_id: uuid.UUID, code_keys: Sequence[str], phrases: Sequence[str], limit: int
    ) -> list[Product]:
        """Not inactive ones of this tenant whose code key is one of `code_keys` or which have a
        trigger keyword among `phrases`, by code key; detached Product objects, for reading."""
        if not code_keys and not phrases:
            return []
        values = {
            "tenant_id": tenant_id,
            "code_keys": list(code_keys),
            "phrases": list(phrases),
            "limit": limit,
        }
        rows = await MATCHING.fetch(self.connection, values)
        return [Product(**dict(zip(_MATCH_KEYS, row, strict=True))) for row in rows]


def _filtered(query: Select[Any], tenant_id: uuid.UUID, f: SearchFilters) -> Select[Any]:
    query = query.where(Product.tenant_id == tenant_id)
    if f.statuses:
        query = query.where(Product.status.in_(f.statuses))
    if f.purpose:
        query = query.where(Product.purpose == f.purpose)
    if f.type_norm:
        query = query.where(Product.type_norm == f.type_norm)
    if f.city_norm:
        query = query.where(Product.city_norm == f.city_norm)
    if f.neighbourhood_norm:
        query = query.where(Product.neighbourhood_norm == f.neighbourhood_norm)
    if f.min_bedrooms:
        query = query.where(Product.bedrooms >= f.min_bedrooms)
    if f.min_parking_spots:
        query = query.where(Product.parking_spots >= f.min_parking_spots)
    if f.min_price_cents is not None:
        query = query.where(Product.price_cents >= f.min_price_cents)
    if f.max_price_cents is not None:
        query = query.where(Product.price_cents <= f.max_price_cents)
    return query


PLACES_LIMIT = 2000


async def catalog_places(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[list[str], list[str]]:
    """Distinct neighbourhoods and cities of the tenant's available products, sorted by folded name."""
    found: list[list[str]] = []
    for column, norm in (
        (Product.neighbourhood, Product.neighbourhood_norm),
        (Product.city, Product.city_norm),
    ):
        query = (
            select(norm, column, func.count())
            .where(Product.tenant_id == tenant_id, Product.status == "available", norm != "")
            .group_by(norm, column)
        )
        spellings: dict[str, list[tuple[int, int, str]]] = {}
        for key, name, count in (await session.execute(query)).all():
            if name.strip():
                spellings.setdefault(key, []).append((_decorated(name), count, name.strip()))
        found.append([max(spellings[key])[2] for key in sorted(spellings)][:PLACES_LIMIT])
    return found[0], found[1]


def _decorated(name: str) -> int:
    """Capitals and accents: "Água Verde" is a better spelling to show than "agua verde"."""
    return sum(1 for ch in name if ch != ch.lower() or not ch.isascii())


# One ListTriggerTerms answer carries at most this many terms and characters (gRPC's 4 MiB limit);
# past either, the catalog's terms are "incomplete" and every message is asked about.
TRIGGER_TERMS_MAX = 50_000
TRIGGER_TERMS_MAX_CHARS = 2_000_000
_TRIGGER_TERMS = text(
    "SELECT false AS keyword, code_key AS term FROM tenant.products"
    " WHERE tenant_id = :tenant_id AND status <> 'inactive'"
    " UNION"
    " SELECT true, k FROM tenant.products p, unnest(p.keywords_norm) AS k"
    " WHERE p.tenant_id = :tenant_id AND p.status <> 'inactive'"
    " AND cardinality(string_to_array(k, ' ')) <= :longest"
    " ORDER BY 1, 2 LIMIT :limit"
)


async def trigger_terms(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[list[str], list[str]] | None:
    """(code keys, keywords) that ProductMatchRepository.matching can match for this tenant, each
    distinct and sorted: not inactive products' code keys, and their keywords of at most
    LONGEST_PHRASE words (a message's phrases are no longer). None when there are more than
    TRIGGER_TERMS_MAX terms or TRIGGER_TERMS_MAX_CHARS characters."""
    values = {"tenant_id": tenant_id, "longest": LONGEST_PHRASE, "limit": TRIGGER_TERMS_MAX + 1}
    rows = (await session.execute(_TRIGGER_TERMS, values)).all()
    if len(rows) > TRIGGER_TERMS_MAX or sum(len(term) for _, term in rows) > TRIGGER_TERMS_MAX_CHARS:
        return None
    return [term for keyword, term in rows if not keyword], [term for keyword, term in rows if keyword]
