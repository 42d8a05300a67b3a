"""The built-in Portuguese responder used when no LLM is configured: deterministic and pure.

It greets, reads what the lead said, asks for the first missing fact (one question at a time),
scores the lead and hands off when the lead asks for a person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ai.extract import Fact, facts, handoff_request
from kit.text import fold_letters

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


@dataclass(frozen=True)
class Options:
    """What the tenant decides: its greeting, catalog suggestions already found, its handoff rules."""

    greeting: str = ""
    suggestions: Sequence[str] = ()
    handoff_score: int = 0  # 0 = never by score
    handoff_keywords: Sequence[str] = ()
    on_human_request: bool = True


HANDOFF_TEXT = "Com essas informações, um de nossos corretores vai continuar o seu atendimento em breve."
SUGGESTIONS_INTRO = "Encontrei no nosso catálogo:"


def read_profile(
    history: Sequence[Turn], known: Sequence[Fact] = (), vocabulary: Sequence[str] = ()
) -> dict[str, Fact]:
    """What the lead told us so far: the stored profile, updated by every lead message."""
    profile = {f.name: f for f in known if f.value}
    profile.update(facts((t.text for t in history if t.role == LEAD), vocabulary))
    return profile


def respond(
    lead_name: str,
    history: Sequence[Turn],
    known: Sequence[Fact] = (),
    vocabulary: Sequence[str] = (),
    options: Options = Options(),
) -> Reply:
    """`vocabulary`: the tenant's catalog place names, so "no centro" is read as the Centro."""
    profile = read_profile(history, known, vocabulary)
    total, reasons = score(profile)
    ordered = [profile[n] for n in WEIGHTS if n in profile] + [
        f for n, f in profile.items() if n not in WEIGHTS
    ]
    name = first_name(lead_name)
    pending = latest_lead_turns(history)
    asked = (
        next((e for t in pending if (e := handoff_request(t))), None) if options.on_human_request else None
    )
    if asked:
        text = f"Claro{', ' + name if name else ''}! Vou chamar um corretor para continuar o seu atendimento."
        reason = f"o lead pediu para falar com uma pessoa: “{asked}”"
        return Reply(text, ordered, total, reasons, handoff=True, handoff_reason=reason)
    fresh = facts(pending, vocabulary)
    rule = rule_handoff(pending, total, options)
    text = compose(name, history, profile, fresh, options, handing_off=rule is not None)
    return Reply(text, ordered, total, reasons, handoff=rule is not None, handoff_reason=rule or "")


def rule_handoff(pending: Sequence[str], total: int, options: Options) -> str | None:
    """The tenant's handoff keywords and score threshold."""
    said = fold_letters(" ".join(pending))
    for keyword in options.handoff_keywords:
        key = fold_letters(keyword.strip())
        if key and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", said):
            return f"palavra-chave de transferência: “{keyword.strip()}”"
    if options.handoff_score and total >= options.handoff_score:
        return f"pontuação {total} atingiu o limite de {options.handoff_score}"
    return None


def greeting_opening(greeting: str, name: str) -> str:
    """The tenant's greeting, with the lead's first name and without its own question (we ask ours)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", greeting.strip()) if s and not s.endswith("?")]
    if not sentences:
        return ""
    if name:
        sentences[0] = SALUTATION.sub(lambda m: f"{m.group(1)}, {name}!", sentences[0], count=1)
    return " ".join(sentences)


SALUTATION = re.compile(r"^(Olá|Ola|Oi|Bom dia|Boa tarde|Boa noite)\s*[!,.]?(?=\s|$)", re.IGNORECASE)


def opening_for(name: str, history: Sequence[Turn], greeting: str) -> str:
    if any(t.role in (ASSISTANT, SELLER) for t in history):
        return "Perfeito!"
    return greeting_opening(greeting, name) or (
        f"Olá{', ' + name if name else ''}! Sou o assistente virtual da imobiliária e vou te ajudar "
        "a encontrar o imóvel ideal."
    )


def compose(
    name: str,
    history: Sequence[Turn],
    profile: dict[str, Fact],
    fresh: dict[str, Fact],
    options: Options = Options(),
    handing_off: bool = False,
) -> str:
    opening = opening_for(name, history, options.greeting)
    noted = [display(fresh[n]) for n in WEIGHTS if n in fresh]
    summary = f" Anotei: {', '.join(noted)}." if noted else ""
    listed = (
        "\n\n" + SUGGESTIONS_INTRO + "\n" + "\n".join(options.suggestions) + "\n\n"
        if options.suggestions
        else " "
    )
    gaps = missing(profile)
    if handing_off:
        closing = HANDOFF_TEXT
    elif not gaps:
        closing = "Já tenho tudo o que preciso: vou separar as melhores opções para você."
    else:
        closing = question(gaps[0], profile)
    return f"{opening}{summary}{listed}{closing}"
