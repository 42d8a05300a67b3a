"""The model's tools: their JSON schemas and the pydantic models their arguments must satisfy.

Arguments never carry a tenant or lead id (extra keys are refused): tools run in our code with the
ids of the request, so a prompt-injected model cannot reach another tenant's data.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FieldName = Literal["purpose", "property_type", "region", "bedrooms", "budget", "timeline", "financing"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LeadField(Strict):
    name: FieldName
    value: str = Field(min_length=1, max_length=200)
    evidence: str = Field(min_length=1, max_length=300)
    confidence: float = Field(ge=0, le=1)


class UpdateLead(Strict):
    fields: list[LeadField] = Field(min_length=1, max_length=10)


class SearchProperties(Strict):
    purpose: Literal["buy", "rent"] | None = None
    type: str | None = Field(default=None, max_length=50)
    city: str | None = Field(default=None, max_length=100)
    neighbourhood: str | None = Field(default=None, max_length=100)
    min_bedrooms: int | None = Field(default=None, ge=0, le=20)
    min_price: int | None = Field(default=None, ge=0, le=1_000_000_000)
    max_price: int | None = Field(default=None, ge=0, le=1_000_000_000)
    text: str | None = Field(default=None, max_length=200)


class HandoffToHuman(Strict):
    reason: str = Field(min_length=1, max_length=300)


ARGUMENTS: dict[str, type[Strict]] = {
    "update_lead": UpdateLead,
    "search_properties": SearchProperties,
    "handoff_to_human": HandoffToHuman,
}
DESCRIPTIONS = {
    "update_lead": (
        "Registra o que o lead disse sobre o que procura. Cada campo com o valor normalizado, o trecho "
        "exato da mensagem do lead de onde veio (evidence) e a confiança (0 a 1). Valores: purpose "
        "buy|rent; property_type apartment|house|townhouse|land|commercial; bedrooms e budget como "
        "números inteiros (budget em reais)."
    ),
    "search_properties": (
        "Busca imóveis no catálogo desta imobiliária. type em português como no catálogo (apartamento, "
        "casa, sobrado, terreno, sala comercial); preços em reais. Use apenas os imóveis retornados."
    ),
    "handoff_to_human": (
        "Transfere a conversa para um corretor humano (o lead pediu, está qualificado, ou o assunto "
        "exige uma pessoa: proposta, visita, negociação de preço)."
    ),
}


class InvalidToolCall(Exception):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")


@functools.cache
def schemas() -> list[dict[str, Any]]:
    """The tools as the chat-completions API takes them. Built once: pydantic's schema generation was
    15 % of the ai service's CPU when run for every model call. Shared by every request, so read-only
    (the openai client copies what it sends)."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": DESCRIPTIONS[name],
                "parameters": model.model_json_schema(),
            },
        }
        for name, model in ARGUMENTS.items()
    ]


def parse(name: str, arguments: str) -> Strict:
    """The validated arguments of one tool call, or InvalidToolCall (the answer breaks the schema)."""
    model = ARGUMENTS.get(name)
    if model is None:
        raise InvalidToolCall(name, "unknown tool")
    try:
        return model.model_validate(json.loads(arguments or "{}"))
    except (ValueError, ValidationError) as error:
        raise InvalidToolCall(name, str(error).splitlines()[0]) from None
