"""Pure rules of the catalog: text folding, Brazilian number formats, product validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from kit.catalog_terms import code_key, fold, words

PURPOSES = ("sale", "rent")
STATUSES = ("available", "reserved", "sold", "rented", "inactive")
MAX_CODE = 50
_SUFFIXES = (
    ("milhoes", Decimal(1_000_000)),
    ("milhao", Decimal(1_000_000)),
    ("mi", Decimal(1_000_000)),
    ("mil", Decimal(1_000)),
    ("m", Decimal(1_000_000)),
    ("k", Decimal(1_000)),
)
_NUMBER = re.compile(r"^\d[\d.,]*$")


def _plain_number(raw: str, scaled: bool) -> Decimal:
    """Digits with Brazilian or English separators → Decimal (ValueError when it isn't a number)."""
    if not _NUMBER.match(raw):
        raise ValueError(f"{raw!r} is not a number")
    if "." in raw and "," in raw:
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        raw = raw.replace(thousands, "").replace(decimal_sep, ".")
    else:
        sep = "," if "," in raw else "." if "." in raw else ""
        if sep:
            head, _, tail = raw.rpartition(sep)
            # One separator + exactly three digits is a thousands group (850.000), unless a scale
            # word follows ("1,5 mi"); several separators are always thousands groups.
            if raw.count(sep) > 1 or (len(tail) == 3 and not scaled):
                raw = raw.replace(sep, "")
            else:
                raw = head.replace(sep, "") + "." + tail
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None


def parse_money(text: str) -> int | None:
    """ "R$ 850.000,00", "850 mil", "1,2 mi", "R$ 3.500/mês" → cents; "" → None."""
    value = fold(text).replace("r$", "").replace("brl", "")
    value = re.sub(r"/\s*(mes|mensal|m)$", "", value).replace(" ", "")
    if not value:
        return None
    scale = Decimal(1)
    for suffix, factor in _SUFFIXES:
        if value.endswith(suffix) and value[: -len(suffix)][-1:].isdigit():
            value, scale = value[: -len(suffix)], factor
            break
    amount = _plain_number(value, scaled=scale != 1) * scale
    return int((amount * 100).quantize(Decimal(1)))


def parse_decimal(text: str) -> Decimal | None:
    """ "120,5", "1.200,50", "85 m²", "85m2" → Decimal; "" → None."""
    value = fold(text).replace(" ", "")
    value = re.sub(r"(m2|m²|m\^2|metros?(quadrados)?|m)$", "", value)
    if not value:
        return None
    return _plain_number(value, scaled=False)


def parse_int(text: str) -> int | None:
    """ "3", "3 quartos", "03" → 3; "" → None."""
    value = fold(text)
    if not value:
        return None
    match = re.match(r"^(\d+)(?:\s*[a-z]+)?$", value)
    if not match:
        raise ValueError(f"{text!r} is not a whole number")
    return int(match.group(1))


PURPOSE_WORDS = {
    "sale": {"venda", "vende", "vender", "compra", "comprar", "sale", "sell", "buy", "v"},
    "rent": {"aluguel", "alugar", "locacao", "loca", "rent", "lease", "rental", "l"},
}
STATUS_WORDS = {
    "available": {"disponivel", "available", "ativo", "active", "a venda", "livre"},
    "reserved": {"reservado", "reserved", "em negociacao", "proposta"},
    "sold": {"vendido", "sold"},
    "rented": {"alugado", "locado", "rented", "leased"},
    "inactive": {"inativo", "inactive", "indisponivel", "unavailable", "suspenso"},
}


def _word_choice(text: str, table: dict[str, set[str]], what: str) -> str:
    value = fold(text)
    if not value:
        return ""
    for canonical, names in table.items():
        if value == canonical or value in names:
            return canonical
    raise ValueError(f"{what} {text!r} is not one of {', '.join(table)}")


def parse_purpose(text: str) -> str:
    return _word_choice(text, PURPOSE_WORDS, "purpose")


def parse_status(text: str) -> str:
    return _word_choice(text, STATUS_WORDS, "status") or "available"


def split_list(text: str) -> list[str]:
    """Keywords separated by "," ";" or "|"."""
    return [p.strip() for p in re.split(r"[,;|\n]", text or "") if p.strip()]


def split_urls(text: str) -> list[str]:
    """Photo URLs separated by "|", whitespace, new lines, or "," / ";" before the next URL."""
    parts = re.split(r"\s*(?:\||\n|[,;](?=\s*https?://)|\s(?=https?://))\s*", (text or "").strip())
    return [p for p in parts if p]


@dataclass
class ProductData:
    code: str = ""
    title: str = ""
    type: str = ""
    purpose: str = ""
    price_cents: int | None = None
    condo_fee_cents: int | None = None
    area_m2: Decimal | None = None
    bedrooms: int | None = None
    suites: int | None = None
    parking_spots: int | None = None
    neighbourhood: str = ""
    city: str = ""
    description: str = ""
    photo_urls: list[str] = field(default_factory=list)
    listing_url: str = ""
    status: str = "available"
    trigger_keywords: list[str] = field(default_factory=list)
    seller_id: str = ""

    def problems(self) -> list[str]:
        found = []
        if not self.code.strip() or len(self.code) > MAX_CODE or not code_key(self.code):
            found.append(f"code must have 1 to {MAX_CODE} characters with letters or digits")
        if not self.title.strip() or len(self.title) > 300:
            found.append("title must have 1 to 300 characters")
        if self.purpose not in ("", *PURPOSES):
            found.append(f"purpose must be one of {', '.join(PURPOSES)}")
        if self.status not in STATUSES:
            found.append(f"status must be one of {', '.join(STATUSES)}")
        for name in ("price_cents", "condo_fee_cents", "area_m2", "bedrooms", "suites", "parking_spots"):
            value = getattr(self, name)
            if value is not None and value < 0:
                found.append(f"{name} must not be negative")
        for name, limit in (("type", 50), ("neighbourhood", 120), ("city", 120)):
            if len(getattr(self, name)) > limit:
                found.append(f"{name} must have at most {limit} characters")
        bad = [
            u for u in [*self.photo_urls, self.listing_url] if u and not u.startswith(("http://", "https://"))
        ]
        if bad:
            found.append(f"URLs must start with http:// or https:// ({bad[0][:60]!r})")
        return found

    def normalised(self) -> dict[str, object]:
        """The stored, searchable copies of the text fields."""
        keywords = [" ".join(words(k)) for k in self.trigger_keywords if words(k)]
        return {
            "code_key": code_key(self.code),
            "type_norm": fold(self.type),
            "city_norm": fold(self.city),
            "neighbourhood_norm": fold(self.neighbourhood),
            "keywords_norm": sorted(set(keywords)),
            "search_title": " ".join([fold(self.code), fold(self.title), fold(self.type), *keywords]),
            "search_body": " ".join([fold(self.neighbourhood), fold(self.city), fold(self.description)]),
        }


FIELD_NAMES = tuple(f.name for f in fields(ProductData))
