"""Use cases of the product catalog: CRUD, CSV import, search and trigger matching.

They run inside the caller's transaction and never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kit.catalog_terms import candidates
from kit.errors import AlreadyExists, InvalidArgument, NotFound
from tenant import audit, csv_import
from tenant import catalog_domain as cd
from tenant.models_catalog import Product
from tenant.repository_catalog import ProductMatchRepository, ProductRepository, SearchFilters


class ProductMissing(NotFound):
    def __init__(self) -> None:
        super().__init__("product not found")


def to_data(product: Product | dict[str, Any]) -> cd.ProductData:
    values = product if isinstance(product, dict) else {n: getattr(product, n) for n in cd.FIELD_NAMES}
    data: dict[str, Any] = {
        n: (list(v) if isinstance(v, list) else v) for n, v in values.items() if n in cd.FIELD_NAMES
    }
    data["seller_id"] = str(data["seller_id"]) if data.get("seller_id") else ""
    return cd.ProductData(**data)


def _row(data: cd.ProductData) -> dict[str, Any]:
    """The columns written for one product."""
    row = {name: getattr(data, name) for name in cd.FIELD_NAMES}
    row.update(
        code=data.code.strip(),
        title=data.title.strip(),
        seller_id=uuid.UUID(data.seller_id) if data.seller_id else None,
        **data.normalised(),
    )
    return row


def _check(data: cd.ProductData) -> None:
    problems = data.problems()
    if data.seller_id:
        try:
            uuid.UUID(data.seller_id)
        except ValueError:
            problems.append("seller_id must be a UUID")
    if problems:
        raise InvalidArgument("; ".join(problems))


def _parse_id(product_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(product_id)
    except (ValueError, TypeError):
        raise ProductMissing() from None


async def _product(session: AsyncSession, tenant_id: uuid.UUID, product_id: str) -> Product:
    product = await ProductRepository(session).get(_parse_id(product_id), tenant_id)
    if product is None:
        raise ProductMissing()
    return product


async def create_product(session: AsyncSession, tenant_id: uuid.UUID, data: cd.ProductData) -> Product:
    _check(data)
    product = Product(id=uuid.uuid4(), tenant_id=tenant_id, **_row(data))
    if not await ProductRepository(session).save(product):
        raise AlreadyExists(f"a product with code {data.code!r} already exists")
    return product


async def get_product(session: AsyncSession, tenant_id: uuid.UUID, product_id: str) -> Product:
    return await _product(session, tenant_id, product_id)


async def list_products(
    session: AsyncSession, tenant_id: uuid.UUID, statuses: list[str], page_size: int, offset: int
) -> tuple[list[Product], int, int]:
    """A page, the total and the offset of the next page (0 at the end)."""
    limit = max(1, min(page_size or 50, 200))
    products, total = await ProductRepository(session).page(tenant_id, statuses, limit, offset)
    following = offset + limit
    return list(products), total, following if following < total else 0


async def update_product(
    session: AsyncSession, tenant_id: uuid.UUID, product_id: str, data: cd.ProductData, fields: list[str]
) -> Product:
    product = await _product(session, tenant_id, product_id)
    unknown = sorted(set(fields) - set(cd.FIELD_NAMES))
    if unknown:
        raise InvalidArgument(f"fields: unknown product field(s) {', '.join(unknown)}")
    merged = to_data(product)
    for name in fields or cd.FIELD_NAMES:
        setattr(merged, name, getattr(data, name))
    _check(merged)
    for key, value in _row(merged).items():
        setattr(product, key, value)
    product.updated_at = func.now()  # type: ignore[assignment]
    if not await ProductRepository(session).save(product):
        raise AlreadyExists(f"a product with code {merged.code!r} already exists")
    return product


async def delete_product(session: AsyncSession, tenant_id: uuid.UUID, product_id: str) -> None:
    await ProductRepository(session).delete(await _product(session, tenant_id, product_id))


@dataclass
class ImportLine:
    line: int
    code: str
    outcome: str  # created / updated / rejected / skipped
    reason: str = ""


@dataclass
class ImportReport:
    applied: bool
    encoding: str
    delimiter: str
    rows: list[ImportLine] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)


def _reject_repeated_codes(rows: list[csv_import.ParsedRow]) -> None:
    first: dict[str, int] = {}
    for row in rows:
        if row.product is None:
            continue
        key = cd.code_key(row.code)
        if key in first:
            row.problems.append(f"code {row.code!r} repeats line {first[key]}")
            row.product = None
        else:
            first[key] = row.line


def _merged(
    row: csv_import.ParsedRow, existing: dict[str, dict[str, Any]], columns: list[str]
) -> cd.ProductData:
    """Columns the file does not have keep the stored product's values."""
    assert row.product is not None
    stored = existing.get(cd.code_key(row.code))
    if stored is None or len(columns) == len(cd.FIELD_NAMES):
        return row.product
    merged = to_data(stored)
    for name in columns:
        setattr(merged, name, getattr(row.product, name))
    return merged


async def import_products(
    session: AsyncSession, tenant_id: uuid.UUID, content: bytes, partial: bool
) -> ImportReport:
    """Upsert by code. Unless `partial`, one invalid row means nothing is written."""
    parsed = csv_import.parse(content)
    _reject_repeated_codes(parsed.rows)
    valid = [r for r in parsed.rows if r.product is not None]
    report = ImportReport(applied=False, encoding=parsed.encoding, delimiter=parsed.delimiter)
    invalid = len(valid) < len(parsed.rows)
    if not valid or (invalid and not partial):
        report.rows = [
            ImportLine(r.line, r.code, "skipped" if r.product else "rejected", "; ".join(r.problems))
            for r in parsed.rows
        ]
        return report
    repo = ProductRepository(session)
    existing = await repo.by_code_keys(tenant_id, [cd.code_key(r.code) for r in valid])
    rows = [_row(_merged(r, existing, parsed.columns)) for r in valid]
    await repo.upsert(tenant_id, rows)
    report.applied = True
    report.rows = [
        ImportLine(r.line, r.code, "rejected", "; ".join(r.problems))
        if r.product is None
        else ImportLine(r.line, r.code, "updated" if cd.code_key(r.code) in existing else "created")
        for r in parsed.rows
    ]
    await audit.record(
        session,
        "products.import",
        tenant_id=tenant_id,
        target_type="products",
        details={
            "created": report.count("created"),
            "updated": report.count("updated"),
            "rejected": report.count("rejected"),
            "partial": partial,
        },
    )
    return report


@dataclass
class SearchQuery:
    text: str = ""
    purpose: str = ""
    type: str = ""
    city: str = ""
    neighbourhood: str = ""
    min_bedrooms: int = 0
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    min_parking_spots: int = 0
    statuses: tuple[str, ...] = ()


def _tsquery(text: str) -> str:
    """Any of the words, each as a prefix; ranking rewards products that have more of them."""
    return " | ".join(f"{w}:*" for w in dict.fromkeys(cd.words(text)) if len(w) > 1)


async def search_products(
    session: AsyncSession, tenant_id: uuid.UUID, query: SearchQuery, page_size: int, offset: int
) -> tuple[list[tuple[Product, float]], int, int]:
    low, high = query.min_price_cents, query.max_price_cents
    if low is not None and high is not None and low > high:
        raise InvalidArgument("min_price_cents must not exceed max_price_cents")
    filters = SearchFilters(
        text_query=_tsquery(query.text),
        purpose=query.purpose,
        type_norm=cd.fold(query.type),
        city_norm=cd.fold(query.city),
        neighbourhood_norm=cd.fold(query.neighbourhood),
        min_bedrooms=query.min_bedrooms,
        min_price_cents=query.min_price_cents,
        max_price_cents=query.max_price_cents,
        min_parking_spots=query.min_parking_spots,
        statuses=query.statuses or ("available",),
    )
    limit = max(1, min(page_size or 20, 100))
    hits, total = await ProductRepository(session).search(tenant_id, filters, limit, offset)
    following = offset + limit
    return hits, total, following if following < total else 0


async def match_products(
    connection: AsyncConnection, tenant_id: uuid.UUID, text: str, limit: int
) -> list[tuple[Product, list[str]]]:
    """The products a message mentions by listing code or trigger keyword (not inactive ones)."""
    if len(text) > 10_000:
        raise InvalidArgument("text must have at most 10000 characters")
    codes, named = candidates(text)
    found = await ProductMatchRepository(connection).matching(
        tenant_id, sorted(codes), sorted(named), max(1, min(limit or 10, 50))
    )
    matches = []
    for product in found:
        reasons = ["code"] if product.code_key in codes else []
        reasons += [f"keyword:{k}" for k in product.keywords_norm if k in named]
        matches.append((product, reasons))
    return matches
