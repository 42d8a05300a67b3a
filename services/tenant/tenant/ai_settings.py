"""Pure rules of a tenant's AI settings: niche defaults, validation, field-by-field diff."""

from __future__ import annotations

import re
from typing import Any

from tenant import niches

DEFAULT_MODEL = "gpt-4o"
MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
TEXT_LIMITS = {
    "system_prompt": 20_000,
    "tone": 500,
    "company_info": 10_000,
    "business_hours": 1_000,
    "greeting": 1_000,
    "fallback_message": 1_000,
}
FIELDS = (*TEXT_LIMITS, "handoff", "model", "temperature", "debounce_seconds")

REAL_ESTATE: dict[str, Any] = {
    "tone": "cordial, profissional e objetivo; frases curtas, uma pergunta por vez",
    "business_hours": "Segunda a sexta, 9h às 18h; sábado, 9h às 13h",
    "greeting": (
        "Olá! 👋 Sou o assistente virtual da {company_name}. Você procura um imóvel para comprar ou alugar?"
    ),
    "fallback_message": (
        "Desculpe, não consegui responder agora. Um de nossos corretores vai falar com você em instantes."
    ),
    "handoff": {
        "score_threshold": 70,
        "keywords": ["corretor", "atendente", "humano", "visita", "proposta"],
        "on_human_request": True,
    },
}
GENERIC: dict[str, Any] = {
    "tone": "cordial e objetivo",
    "business_hours": "Segunda a sexta, 9h às 18h",
    "greeting": "Olá! Sou o assistente virtual da {company_name}. Como posso ajudar?",
    "fallback_message": "Desculpe, não consegui responder agora. Um atendente vai falar com você em breve.",
    "handoff": {"score_threshold": 70, "keywords": ["atendente", "humano"], "on_human_request": True},
}


def defaults_for(niche_id: int, company_name: str) -> dict[str, Any]:
    """What a tenant gets before saving anything: its niche's Portuguese defaults."""
    base = REAL_ESTATE if niche_id == niches.REAL_ESTATE else GENERIC
    prompt = niches.REAL_ESTATE_PROMPT if niche_id == niches.REAL_ESTATE else niches.GENERIC_PROMPT
    return {
        "system_prompt": prompt.replace("{company_name}", company_name),
        "tone": base["tone"],
        "company_info": "",
        "business_hours": base["business_hours"],
        "greeting": str(base["greeting"]).replace("{company_name}", company_name),
        "fallback_message": base["fallback_message"],
        "handoff": dict(base["handoff"]),
        "model": DEFAULT_MODEL,
        "temperature": 0.4,
        # With the ai service's 10 s model timeout, a failed model call still yields the fallback
        # within 15 s of the lead's message.
        "debounce_seconds": 3,
    }


def _handoff_problems(handoff: Any) -> list[str]:
    if not isinstance(handoff, dict):
        return ["handoff must be an object"]
    found = []
    score = handoff.get("score_threshold", 0)
    if not isinstance(score, int) or not 0 <= score <= 100:
        found.append("handoff.score_threshold must be between 0 and 100")
    keywords = handoff.get("keywords", [])
    if (
        not isinstance(keywords, list)
        or len(keywords) > 50
        or any(not isinstance(k, str) or not k.strip() or len(k) > 100 for k in keywords)
    ):
        found.append("handoff.keywords must be at most 50 non-empty words of up to 100 characters")
    return found


def validate(values: dict[str, Any]) -> list[str]:
    found = [
        f"{name} must have at most {limit} characters"
        for name, limit in TEXT_LIMITS.items()
        if len(str(values.get(name, ""))) > limit
    ]
    if not str(values.get("system_prompt", "")).strip():
        found.append("system_prompt must not be empty")
    if not str(values.get("fallback_message", "")).strip():
        found.append("fallback_message must not be empty")
    if not MODEL.match(str(values.get("model", ""))):
        found.append("model must be a model name such as gpt-4o (letters, digits, '.', '-', ':')")
    temperature = values.get("temperature")
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        found.append("temperature must be between 0 and 2")
    debounce = values.get("debounce_seconds")
    if not isinstance(debounce, int) or not 0 <= debounce <= 120:
        found.append("debounce_seconds must be between 0 and 120")
    return found + _handoff_problems(values.get("handoff"))


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old value, new value) for every changed field; handoff rules field by field."""
    changes: list[tuple[str, Any, Any]] = []
    for name in FIELDS:
        a, b = old.get(name), new.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(
                (f"{name}.{k}", a.get(k), b.get(k)) for k in sorted({*a, *b}) if a.get(k) != b.get(k)
            )
        elif a != b:
            changes.append((name, a, b))
    return changes
