"""Runs the model's validated tool calls in our code, bound to the request's tenant and lead.

update_lead keeps only fields whose quote really is in the lead's messages and whose value
normalises; search_properties asks the tenant service for this tenant's catalog; handoff_to_human
records the reason. Results go back to the model as short JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ai import extract, tools
from ai.extract import Fact
from ai.prompt import describe
from ai.reply import ToolRecord
from ai.tenant_port import CatalogItem, PropertyFilters, TenantPort
from kit.text import fold_letters

PURPOSES = {"buy": "buy", "comprar": "buy", "compra": "buy", "venda": "buy", "rent": "rent",
            "alugar": "rent", "aluguel": "rent", "locacao": "rent"}  # fmt: skip
TYPES = {"apartment": "apartment", "apartamento": "apartment", "house": "house", "casa": "house",
         "townhouse": "townhouse", "sobrado": "townhouse", "land": "land", "terreno": "land",
         "lote": "land", "commercial": "commercial", "sala comercial": "commercial",
         "loja": "commercial", "comercial": "commercial"}  # fmt: skip
BOOLEANS = {"true": "true", "sim": "true", "yes": "true", "false": "false", "nao": "false", "no": "false"}
SEARCH_LIMIT = 5


def _squash_spaces(text: str) -> str:
    return re.sub(r"\s+", " ", fold_letters(text)).strip()


def normalise(name: str, value: str) -> str | None:
    """The canonical value the rest of the system understands, or None if it makes no sense."""
    key = _squash_spaces(value)
    if name == "purpose":
        return PURPOSES.get(key)
    if name == "property_type":
        return TYPES.get(key)
    if name == "financing":
        return BOOLEANS.get(key)
    if name == "bedrooms":
        digits = re.fullmatch(r"\d{1,2}", key) or re.match(r"(\d{1,2})\b", key)
        return digits.group(0) if digits and 0 < int(digits.group(0)) <= 20 else None
    if name == "budget":
        if re.fullmatch(r"[\d.]+", key) and key.replace(".", "").isdigit():
            return str(int(key.replace(".", "")))
        hits = extract.budget(key)
        return hits[0].value if hits else None
    return value.strip()[:100]


@dataclass
class ToolRun:
    tenant_id: str
    lead_texts: Sequence[str]
    tenants: TenantPort
    facts: dict[str, Fact]
    catalog: dict[str, CatalogItem] = field(default_factory=dict)
    records: list[ToolRecord] = field(default_factory=list)
    handoff_reason: str | None = None

    async def execute(self, name: str, arguments: tools.Strict) -> dict[str, Any]:
        if isinstance(arguments, tools.UpdateLead):
            return self._update_lead(arguments)
        if isinstance(arguments, tools.SearchProperties):
            return await self._search(arguments)
        assert isinstance(arguments, tools.HandoffToHuman)
        self.handoff_reason = arguments.reason
        self._record(name, arguments, "transferência para um corretor registrada")
        return {"ok": True}

    def _record(self, name: str, arguments: tools.Strict, summary: str) -> None:
        self.records.append(ToolRecord(name, arguments.model_dump_json(exclude_none=True), summary))

    def _quoted(self, evidence: str) -> bool:
        needle = _squash_spaces(evidence)
        return bool(needle) and any(needle in _squash_spaces(t) for t in self.lead_texts)

    def _update_lead(self, arguments: tools.UpdateLead) -> dict[str, Any]:
        saved, rejected = [], []
        for item in arguments.fields:
            value = normalise(item.name, item.value)
            if value is None:
                rejected.append({"name": item.name, "problem": "valor não reconhecido"})
            elif not self._quoted(item.evidence):
                rejected.append({"name": item.name, "problem": "o trecho não está nas mensagens do lead"})
            else:
                self.facts[item.name] = Fact(item.name, value, item.evidence, item.confidence)
                saved.append(item.name)
        summary = f"salvos: {', '.join(saved) or 'nenhum'}" + (
            f"; recusados: {', '.join(r['name'] for r in rejected)}" if rejected else ""
        )
        self._record("update_lead", arguments, summary)
        return {"saved": saved, "rejected": rejected}

    async def _search(self, arguments: tools.SearchProperties) -> dict[str, Any]:
        filters = PropertyFilters(**arguments.model_dump(), limit=SEARCH_LIMIT)
        found = await self.tenants.search_properties(self.tenant_id, filters)
        for item in found:
            self.catalog[item.code] = item
        codes = ", ".join(i.code for i in found)
        self._record(
            "search_properties", arguments, f"{len(found)} imóveis" + (f": {codes}" if codes else "")
        )
        return {"properties": [describe(i) for i in found]}


def tool_message(call_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result, ensure_ascii=False)}
