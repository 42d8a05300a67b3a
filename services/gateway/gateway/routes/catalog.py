"""The product catalog: admins write, sellers and viewers read; CSV import, search, trigger matching."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

import grpc
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from gateway.auth import Principal, require_roles
from vellarys.tenant.v1 import tenant_pb2 as pb

router = APIRouter(prefix="/api/v1/products", tags=["catalog"])
writers = require_roles("superadmin", "admin")
readers = require_roles("superadmin", "admin", "seller", "viewer")
MAX_UPLOAD = 5 * 1024 * 1024
Purpose = Literal["sale", "rent"]
Status = Literal["available", "reserved", "sold", "rented", "inactive"]
PURPOSE_TO_PB = {"sale": pb.PRODUCT_PURPOSE_SALE, "rent": pb.PRODUCT_PURPOSE_RENT}
PB_TO_PURPOSE = {v: k for k, v in PURPOSE_TO_PB.items()}
STATUS_TO_PB = {
    "available": pb.PRODUCT_STATUS_AVAILABLE,
    "reserved": pb.PRODUCT_STATUS_RESERVED,
    "sold": pb.PRODUCT_STATUS_SOLD,
    "rented": pb.PRODUCT_STATUS_RENTED,
    "inactive": pb.PRODUCT_STATUS_INACTIVE,
}
PB_TO_STATUS = {v: k for k, v in STATUS_TO_PB.items()}
OUTCOMES = {
    pb.IMPORT_OUTCOME_CREATED: "created",
    pb.IMPORT_OUTCOME_UPDATED: "updated",
    pb.IMPORT_OUTCOME_REJECTED: "rejected",
    pb.IMPORT_OUTCOME_SKIPPED: "skipped",
}
TenantQuery = Query(default=None, description="Superadmin only: another tenant")
Money = Field(default=None, ge=0, max_digits=14, decimal_places=2, description="BRL, e.g. 850000.00")
Count = Field(default=None, ge=0, le=1000)
MONEY_FIELDS = {"price": "price_cents", "condo_fee": "condo_fee_cents"}


class ProductIn(BaseModel):
    """On PATCH, fields left out keep their value."""

    code: str | None = Field(default=None, min_length=1, max_length=50, examples=["AP-1234"])
    title: str | None = Field(default=None, min_length=1, max_length=300)
    type: str | None = Field(default=None, max_length=50, examples=["apartamento"])
    purpose: Purpose | None = None
    price: Decimal | None = Money
    condo_fee: Decimal | None = Money
    area_m2: float | None = Field(default=None, ge=0, le=10_000_000)
    bedrooms: int | None = Count
    suites: int | None = Count
    parking_spots: int | None = Count
    neighbourhood: str | None = Field(default=None, max_length=120)
    city: str | None = Field(default=None, max_length=120)
    description: str | None = Field(default=None, max_length=20_000)
    photo_urls: list[str] | None = Field(default=None, max_length=100)
    listing_url: str | None = Field(default=None, max_length=2000)
    status: Status | None = None
    trigger_keywords: list[str] | None = Field(default=None, max_length=100)
    seller_id: uuid.UUID | None = None

    def to_pb(self) -> tuple[pb.ProductInput, list[str]]:
        message, names = pb.ProductInput(), []
        for name, value in self.model_dump(exclude_unset=True).items():
            if (
                value is None
                and name not in MONEY_FIELDS
                and name not in ("area_m2", "bedrooms", "suites", "parking_spots")
            ):
                continue
            target = MONEY_FIELDS.get(name, name)
            names.append(target)
            if value is None:
                continue  # explicit null: the number becomes unknown
            if name in MONEY_FIELDS:
                value = int(Decimal(value) * 100)
            elif name == "purpose":
                value = PURPOSE_TO_PB[value]
            elif name == "status":
                value = STATUS_TO_PB[value]
            elif name == "seller_id":
                value = str(value)
            if isinstance(value, list):
                getattr(message, target).extend(value)
            else:
                setattr(message, target, value)
        return message, names


class ProductOut(BaseModel):
    id: str
    tenant_id: str
    code: str
    title: str
    type: str
    purpose: Purpose | None
    price: Decimal | None
    condo_fee: Decimal | None
    area_m2: float | None
    bedrooms: int | None
    suites: int | None
    parking_spots: int | None
    neighbourhood: str
    city: str
    description: str
    photo_urls: list[str]
    listing_url: str
    status: str
    trigger_keywords: list[str]
    seller_id: str | None
    created_at: datetime | None
    updated_at: datetime | None


def _opt(f: pb.ProductInput, name: str) -> int | float | None:
    return getattr(f, name) if f.HasField(name) else None  # type: ignore[no-any-return]


def _reais(cents: int | float | None) -> Decimal | None:
    return None if cents is None else (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def product_out(p: pb.Product) -> ProductOut:
    f = p.fields
    price, fee = _opt(f, "price_cents"), _opt(f, "condo_fee_cents")
    return ProductOut(
        id=p.id, tenant_id=p.tenant_id, code=f.code, title=f.title, type=f.type,
        purpose=PB_TO_PURPOSE.get(f.purpose), status=PB_TO_STATUS.get(f.status, ""),
        price=_reais(price), condo_fee=_reais(fee),
        area_m2=_opt(f, "area_m2"), bedrooms=_opt(f, "bedrooms"),  # type: ignore[arg-type]
        suites=_opt(f, "suites"), parking_spots=_opt(f, "parking_spots"),  # type: ignore[arg-type]
        neighbourhood=f.neighbourhood, city=f.city, description=f.description, photo_urls=list(f.photo_urls),
        listing_url=f.listing_url, trigger_keywords=list(f.trigger_keywords), seller_id=f.seller_id or None,
        created_at=p.created_at.ToDatetime(tzinfo=None) if p.HasField("created_at") else None,
        updated_at=p.updated_at.ToDatetime(tzinfo=None) if p.HasField("updated_at") else None,
    )  # fmt: skip


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    next_cursor: str | None


class SearchHit(BaseModel):
    product: ProductOut
    score: float


class SearchPage(BaseModel):
    items: list[SearchHit]
    total: int
    next_cursor: str | None


class ImportRowOut(BaseModel):
    line: int
    code: str
    outcome: Literal["created", "updated", "rejected", "skipped"]
    reason: str


class ImportReport(BaseModel):
    applied: bool = Field(description="False: nothing was written")
    created: int
    updated: int
    rejected: int
    encoding: str
    delimiter: str
    rows: list[ImportRowOut]


class MatchIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000, examples=["Oi, vi o AP-1234 no Batel"])
    limit: int = Field(default=10, ge=1, le=50)


class MatchOut(BaseModel):
    product: ProductOut
    matched_by: list[str]


def _tenant(tenant_id: uuid.UUID | None) -> str:
    return str(tenant_id or "")


@router.get("/search", summary="Search products: structured filters plus ranked free text")
async def search_products(
    request: Request,
    q: str = Query(default="", max_length=500, description="Free text, accent-insensitive"),
    purpose: Purpose | None = None,
    type: str = Query(default="", max_length=50),
    city: str = Query(default="", max_length=120),
    neighbourhood: str = Query(default="", max_length=120),
    min_bedrooms: int = Query(default=0, ge=0, le=1000),
    min_price: Decimal | None = Query(default=None, ge=0),
    max_price: Decimal | None = Query(default=None, ge=0),
    min_parking_spots: int = Query(default=0, ge=0, le=1000),
    status: list[Status] = Query(default=[], description="Default: available only"),
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str = Query(default="", max_length=20),
    tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(readers),
) -> SearchPage:
    message = pb.SearchProductsRequest(
        tenant_id=_tenant(tenant_id), text=q, type=type, city=city,
        purpose=PURPOSE_TO_PB[purpose] if purpose else pb.PRODUCT_PURPOSE_UNSPECIFIED,
        neighbourhood=neighbourhood, min_bedrooms=min_bedrooms, min_parking_spots=min_parking_spots,
        statuses=[STATUS_TO_PB[s] for s in status], page_size=limit, page_token=cursor,
    )  # fmt: skip
    if min_price is not None:
        message.min_price_cents = int(min_price * 100)
    if max_price is not None:
        message.max_price_cents = int(max_price * 100)
    reply = await request.app.state.clients.tenant.SearchProducts(message, metadata=principal.metadata())
    items = [SearchHit(product=product_out(h.product), score=h.score) for h in reply.hits]
    return SearchPage(items=items, total=reply.total, next_cursor=reply.next_page_token or None)


@router.post("/match", summary="Which products a message mentions (listing code or trigger keyword)")
async def match_products(
    body: MatchIn, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(readers),
) -> list[MatchOut]:  # fmt: skip
    reply = await request.app.state.clients.tenant.MatchProducts(
        pb.MatchProductsRequest(tenant_id=_tenant(tenant_id), text=body.text, limit=body.limit),
        metadata=principal.metadata(),
    )
    return [MatchOut(product=product_out(m.product), matched_by=list(m.matched_by)) for m in reply.matches]


async def _read_upload(request: Request, file: UploadFile) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD + 64 * 1024:
        raise HTTPException(413, f"file larger than {MAX_UPLOAD // 1048576} MiB")
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise HTTPException(413, f"file larger than {MAX_UPLOAD // 1048576} MiB")
    return content


@router.post(
    "/import",
    summary="Import a CSV (upsert by code)",
    description="`;` or `,` separated, UTF-8 (with or without BOM) or Latin-1, Portuguese or English "
    "headers. "
    "Unless `partial` is true, one invalid row means nothing is written; the report says why per line.",
)
async def import_products(
    request: Request,
    file: UploadFile = File(description="CSV file, at most 5 MiB"),
    partial: bool = Form(default=False),
    tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(writers),
) -> ImportReport:
    content = await _read_upload(request, file)
    try:
        reply = await request.app.state.clients.tenant.ImportProducts(
            pb.ImportProductsRequest(tenant_id=_tenant(tenant_id), content=content, partial=partial),
            metadata=principal.metadata(),
            timeout=120,
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise HTTPException(413, error.details() or "file too large") from None
        raise
    rows = [
        ImportRowOut(line=r.line, code=r.code, outcome=OUTCOMES[r.outcome], reason=r.reason)
        for r in reply.rows
    ]  # type: ignore[arg-type]
    return ImportReport(
        applied=reply.applied, created=reply.created, updated=reply.updated, rejected=reply.rejected,
        encoding=reply.encoding, delimiter=reply.delimiter, rows=rows,
    )  # fmt: skip


@router.get("", summary="List products (every status unless filtered)")
async def list_products(
    request: Request,
    status: list[Status] = Query(default=[]),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str = Query(default="", max_length=20),
    tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(readers),
) -> ProductPage:
    reply = await request.app.state.clients.tenant.ListProducts(
        pb.ListProductsRequest(
            tenant_id=_tenant(tenant_id),
            page_size=limit,
            page_token=cursor,
            statuses=[STATUS_TO_PB[s] for s in status],
        ),
        metadata=principal.metadata(),
    )
    items = [product_out(p) for p in reply.products]
    return ProductPage(items=items, total=reply.total, next_cursor=reply.next_page_token or None)


@router.post("", status_code=201, summary="Create a product")
async def create_product(
    body: ProductIn, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(writers),
) -> ProductOut:  # fmt: skip
    message, _ = body.to_pb()
    reply = await request.app.state.clients.tenant.CreateProduct(
        pb.CreateProductRequest(tenant_id=_tenant(tenant_id), product=message), metadata=principal.metadata()
    )
    return product_out(reply.product)


@router.get("/{product_id}", summary="Get a product")
async def get_product(
    product_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(readers),
) -> ProductOut:  # fmt: skip
    reply = await request.app.state.clients.tenant.GetProduct(
        pb.GetProductRequest(tenant_id=_tenant(tenant_id), product_id=str(product_id)),
        metadata=principal.metadata(),
    )
    return product_out(reply.product)


@router.patch("/{product_id}", summary="Change some fields of a product")
async def update_product(
    product_id: uuid.UUID, body: ProductIn, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(writers),
) -> ProductOut:  # fmt: skip
    message, names = body.to_pb()
    if not names:
        return await get_product(product_id, request, tenant_id, principal)
    reply = await request.app.state.clients.tenant.UpdateProduct(
        pb.UpdateProductRequest(
            tenant_id=_tenant(tenant_id), product_id=str(product_id), product=message, fields=names
        ),
        metadata=principal.metadata(),
    )
    return product_out(reply.product)


@router.delete("/{product_id}", status_code=204, summary="Delete a product")
async def delete_product(
    product_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(writers),
) -> Response:  # fmt: skip
    await request.app.state.clients.tenant.DeleteProduct(
        pb.DeleteProductRequest(tenant_id=_tenant(tenant_id), product_id=str(product_id)),
        metadata=principal.metadata(),
    )
    return Response(status_code=204)
