"""Protobuf ⇄ use-case values for the settings and catalog RPCs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kit.errors import InvalidArgument
from kit.timestamps import timestamp_or_empty
from tenant import catalog_domain as cd
from tenant.models_catalog import Product
from tenant.settings_service import ChannelView, SettingsVersion
from vellarys.tenant.v1 import tenant_pb2 as pb

PROVIDER_TO_PB = {
    "zapi": pb.PROVIDER_ZAPI,
    "dialog360": pb.PROVIDER_DIALOG360,
    "gupshup": pb.PROVIDER_GUPSHUP,
    "meta": pb.PROVIDER_META,
}
PB_TO_PROVIDER = {v: k for k, v in PROVIDER_TO_PB.items()}
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
OUTCOME_TO_PB = {
    "created": pb.IMPORT_OUTCOME_CREATED,
    "updated": pb.IMPORT_OUTCOME_UPDATED,
    "rejected": pb.IMPORT_OUTCOME_REJECTED,
    "skipped": pb.IMPORT_OUTCOME_SKIPPED,
}
OPTIONAL_NUMBERS = ("price_cents", "condo_fee_cents", "area_m2", "bedrooms", "suites", "parking_spots")


def encode_channel(view: ChannelView) -> pb.ChannelConfig:
    c = view.channel
    return pb.ChannelConfig(
        id=str(c.id),
        tenant_id=str(c.tenant_id),
        provider=PROVIDER_TO_PB[c.provider],
        name=c.name,
        external_id=c.external_id,
        phone_number=c.phone_number,
        active=c.active,
        masked_secrets=view.masked_secrets,
        webhook_path=view.webhook_path,
        created_at=timestamp_or_empty(c.created_at),
        updated_at=timestamp_or_empty(c.updated_at),
    )


def decode_ai_settings(message: pb.AiSettings) -> dict[str, Any]:
    return {
        "system_prompt": message.system_prompt,
        "tone": message.tone,
        "company_info": message.company_info,
        "business_hours": message.business_hours,
        "greeting": message.greeting,
        "fallback_message": message.fallback_message,
        "handoff": {
            "score_threshold": message.handoff.score_threshold,
            "keywords": [k.strip() for k in message.handoff.keywords],
            "on_human_request": message.handoff.on_human_request,
        },
        "model": message.model.strip(),
        "temperature": round(message.temperature, 3),
        "debounce_seconds": message.debounce_seconds,
    }


def encode_ai_settings(values: dict[str, Any]) -> pb.AiSettings:
    handoff = values.get("handoff") or {}
    return pb.AiSettings(
        system_prompt=values.get("system_prompt", ""),
        tone=values.get("tone", ""),
        company_info=values.get("company_info", ""),
        business_hours=values.get("business_hours", ""),
        greeting=values.get("greeting", ""),
        fallback_message=values.get("fallback_message", ""),
        handoff=pb.HandoffRules(
            score_threshold=int(handoff.get("score_threshold", 0)),
            keywords=list(handoff.get("keywords", [])),
            on_human_request=bool(handoff.get("on_human_request", False)),
        ),
        model=values.get("model", ""),
        temperature=float(values.get("temperature", 0)),
        debounce_seconds=int(values.get("debounce_seconds", 0)),
    )


def encode_version(version: SettingsVersion) -> pb.AiSettingsVersion:
    return pb.AiSettingsVersion(
        version=version.version,
        actor_id=version.actor_id,
        actor_email=version.actor_email,
        created_at=timestamp_or_empty(version.created_at),
        settings=encode_ai_settings(version.settings),
        rolled_back_from=version.rolled_back_from or 0,
    )


def decode_product(message: pb.ProductInput) -> cd.ProductData:
    data = cd.ProductData(
        code=message.code.strip(),
        title=message.title.strip(),
        type=message.type.strip(),
        purpose=PB_TO_PURPOSE.get(message.purpose, ""),
        neighbourhood=message.neighbourhood.strip(),
        city=message.city.strip(),
        description=message.description,
        photo_urls=[u.strip() for u in message.photo_urls if u.strip()],
        listing_url=message.listing_url.strip(),
        status=PB_TO_STATUS.get(message.status, "available"),
        trigger_keywords=[k.strip() for k in message.trigger_keywords if k.strip()],
        seller_id=message.seller_id.strip(),
    )
    for name in OPTIONAL_NUMBERS:
        if message.HasField(name):
            value = getattr(message, name)
            setattr(data, name, Decimal(str(round(value, 2))) if name == "area_m2" else value)
    return data


def encode_product(product: Product) -> pb.Product:
    fields: dict[str, Any] = {
        "code": product.code,
        "title": product.title,
        "type": product.type,
        "purpose": PURPOSE_TO_PB.get(product.purpose, pb.PRODUCT_PURPOSE_UNSPECIFIED),
        "neighbourhood": product.neighbourhood,
        "city": product.city,
        "description": product.description,
        "photo_urls": list(product.photo_urls or []),
        "listing_url": product.listing_url,
        "status": STATUS_TO_PB.get(product.status, pb.PRODUCT_STATUS_UNSPECIFIED),
        "trigger_keywords": list(product.trigger_keywords or []),
        "seller_id": str(product.seller_id) if product.seller_id else "",
    }
    for name in OPTIONAL_NUMBERS:
        value = getattr(product, name)
        if value is not None:
            fields[name] = float(value) if name == "area_m2" else value
    return pb.Product(
        id=str(product.id),
        tenant_id=str(product.tenant_id),
        fields=pb.ProductInput(**fields),
        created_at=timestamp_or_empty(product.created_at),
        updated_at=timestamp_or_empty(product.updated_at),
    )


def offset_from(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise InvalidArgument("page_token is not one this service returned")
    return int(token)
