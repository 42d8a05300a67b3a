"""The built-in Portuguese responder used when no LLM is configured: deterministic and pure.

It greets, reads what the lead said, asks for the first missing fact (one question at a time),
scores the lead and hands off when the lead asks for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ai.extract import Fact, facts, handoff_request

MODEL = "offline"
LEAD, ASSISTANT, SELLER = "lead", "assistant", "seller"

# The order is the order of the questions.
WEIGHTS = {
    "purpose": 20,
    "property_type": 15,
    "region": 15,
    "bedrooms": 10,
    "budget": 20,
    "timeline": 10,
    "financing": 10,
}
LABELS = {
    "purpose": "finalidade",
    "property_type": "tipo de imóvel",
    "region": "região",
    "bedrooms": "quartos",
    "budget": "orçamento",
    "timeline": "prazo",
    "financing": "financiamento",
}
VALUE_NAMES = {
    "purpose": {"buy": "comprar", "rent": "alugar"},
    "property_type": {
        "apartment": "apartamento",
        "house": "casa",
        "townhouse": "sobrado",
        "land": "terreno",
        "commercial": "sala comercial",
    },
    "financing": {"true": "com financiamento", "false": "sem financiamento"},
}
QUESTIONS = {
    "purpose": "Você procura um imóvel para comprar ou para alugar?",
    "property_type": (
        "Que tipo de imóvel você procura: apartamento, casa, sobrado, terreno ou sala comercial?"
    ),
    "region": "Em qual região ou bairro você gostaria que fosse o imóvel?",
    "bedrooms": "Quantos quartos você precisa?",
    "budget": "Qual é o valor máximo que você pretende investir no imóvel?",
    "timeline": "Para quando você está planejando a mudança?",
    "financing": "Você pretende usar financiamento ou seria à vista?",
}
RENT_BUDGET_QUESTION = "Até quanto você pode pagar de aluguel por mês?"


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    profile: list[Fact]
    score: int
    score_reasons: list[str]
    handoff: bool = False
    handoff_reason: str = ""
    model: str = MODEL


def not_applicable(name: str, profile: dict[str, Fact]) -> bool:
    """Questions that make no sense for what the lead wants (bedrooms of a plot, financing a rent)."""
    kind = profile.get("property_type")
    purpose = profile.get("purpose")
    if name == "bedrooms":
        return kind is not None and kind.value in ("land", "commercial")
    if name == "financing":
        return purpose is not None and purpose.value == "rent"
    return False


def display(fact: Fact) -> str:
    if fact.name == "budget" and fact.value.isdigit():
        return "até R$ " + f"{int(fact.value):,}".replace(",", ".")
    if fact.name == "bedrooms":
        return f"{fact.value} quarto" + ("s" if fact.value != "1" else "")
    return VALUE_NAMES.get(fact.name, {}).get(fact.value, fact.value)


def score(profile: dict[str, Fact]) -> tuple[int, list[str]]:
    total, reasons = 0, []
    for name, weight in WEIGHTS.items():
        if name in profile:
            total += weight
            reasons.append(f"{LABELS[name]}: {display(profile[name])} (+{weight})")
        elif not_applicable(name, profile):
            total += weight
            reasons.append(f"{LABELS[name]}: não se aplica (+{weight})")
    return min(total, 100), reasons


def missing(profile: dict[str, Fact]) -> list[str]:
    return [n for n in WEIGHTS if n not in profile and not not_applicable(n, profile)]


def question(name: str, profile: dict[str, Fact]) -> str:
    purpose = profile.get("purpose")
    if name == "budget" and purpose is not None and purpose.value == "rent":
        return RENT_BUDGET_QUESTION
    return QUESTIONS[name]


def first_name(lead_name: str) -> str:
    parts = lead_name.strip().split()
    return parts[0].capitalize() if parts else ""


def latest_lead_turns(history: Sequence[Turn]) -> list[str]:
    """The lead's messages since the last answer: the ones this reply answers."""
    pending: list[str] = []
    for turn in reversed(history):
        if turn.role != LEAD:
            break
        pending.append(turn.text)
    return pending[::-1]


def respond(
    lead_name: str, history: Sequence[Turn], known: Sequence[Fact] = (), vocabulary: Sequence[str] = ()
) -> Reply:
    """`vocabulary`: the tenant's catalog place names, so "no centro" is read as the Centro."""
    profile = {f.name: f for f in known if f.value}
    learned = facts((t.text for t in history if t.role == LEAD), vocabulary)
    profile.update(learned)
    total, reasons = score(profile)
    ordered = [profile[n] for n in WEIGHTS if n in profile] + [
        f for n, f in profile.items() if n not in WEIGHTS
    ]
    name = first_name(lead_name)
    asked = next((e for t in latest_lead_turns(history) if (e := handoff_request(t))), None)
    if asked:
        text = f"Claro{', ' + name if name else ''}! Vou chamar um corretor para continuar o seu atendimento."
        reason = f"o lead pediu para falar com uma pessoa: “{asked}”"
        return Reply(text, ordered, total, reasons, handoff=True, handoff_reason=reason)
    fresh = facts(latest_lead_turns(history), vocabulary)
    return Reply(compose(name, history, profile, fresh), ordered, total, reasons)


def compose(name: str, history: Sequence[Turn], profile: dict[str, Fact], fresh: dict[str, Fact]) -> str:
    is_new = not any(t.role in (ASSISTANT, SELLER) for t in history)
    opening = (
        f"Olá{', ' + name if name else ''}! Sou o assistente virtual da imobiliária e vou te ajudar "
        "a encontrar o imóvel ideal."
        if is_new
        else "Perfeito!"
    )
    noted = [display(fresh[n]) for n in WEIGHTS if n in fresh]
    summary = f" Anotei: {', '.join(noted)}." if noted else ""
    gaps = missing(profile)
    if not gaps:
        return f"{opening}{summary} Já tenho tudo o que preciso: vou separar as melhores opções para você."
    return f"{opening}{summary} {question(gaps[0], profile)}"
