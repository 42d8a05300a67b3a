"""Reads qualification facts out of Brazilian-Portuguese lead messages (pure functions, no I/O).

Matching runs on an accent- and case-folded copy of the text that keeps every index, so evidence is
always quoted from the lead's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kit.text import fold_letters


@dataclass(frozen=True)
class Fact:
    name: str
    value: str
    evidence: str
    confidence: float


@dataclass(frozen=True)
class Hit:
    value: str
    start: int
    end: int
    confidence: float = 0.9


NUMBER_WORDS = {"um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6}
NUMBER = r"\d{1,2}|um|uma|dois|duas|tres|quatro|cinco|seis"
NEGATION = re.compile(r"\b(nao|sem|nem)\b[^.,;!?]{0,12}$")

PURPOSES = [
    (re.compile(r"\b(alug\w*|locacao|locar)\b"), "rent"),
    (re.compile(r"\b(compr\w*|adquirir|aquisicao)\b"), "buy"),
]
PROPERTY_TYPES = [
    (
        re.compile(
            r"\b(salas? comercia\w*|conjuntos? comercia\w*|imove(?:l|is) comercia\w*|predios? comercia\w*"
            r"|lojas?|ponto comercial|galpao|galpoes|escritorios?)\b"
        ),
        "commercial",
    ),
    (re.compile(r"\bsobrados?\b"), "townhouse"),
    (re.compile(r"\b(terrenos?|lotes?)\b"), "land"),
    (re.compile(r"\b(apartamentos?|aptos?|ap|cobertura|studio|kitnet|quitinete)\b"), "apartment"),
    (re.compile(r"(?<!minha )\bcasas?\b"), "house"),
]
BEDROOMS = re.compile(rf"\b({NUMBER})\s+(quartos?|dormitorios?|dorms?|suites?)\b")
AMOUNT = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+[.,]\d{1,2}(?!\d)|\d+"
SCALE = r"mil|milhao|milhoes|mi|k"
BUDGET_PREFIX = r"(?:(?:ate|no maximo|maximo de|por volta de|em torno de|uns|umas)\s+)?"
BUDGETS = [
    re.compile(rf"{BUDGET_PREFIX}r\$\s*({AMOUNT})(?:\s*({SCALE})\b)?"),
    re.compile(rf"{BUDGET_PREFIX}\b({AMOUNT})\s*({SCALE})\b"),
]
MULTIPLIERS = {"mil": 1_000, "k": 1_000, "milhao": 1_000_000, "milhoes": 1_000_000, "mi": 1_000_000}
TIMELINES = [
    re.compile(r"\b(urgente|urgencia|imediat\w*|o quanto antes|o mais rapido possivel)\b"),
    re.compile(
        rf"\b(?:em|daqui a|nos proximos|dentro de|ate)\s+(?:{NUMBER}|doze)\s+(?:mes|meses|anos?|semanas?)\b"
    ),
    re.compile(r"\b(ano que vem|proximo ano|este ano|esse ano|fim do ano|final do ano|sem pressa)\b"),
]
FINANCING_YES = re.compile(r"\b(financiamento|financiar|financiad\w*|fgts|minha casa minha vida|mcmv)\b")
FINANCING_NO = re.compile(r"\b(a vista|sem financiamento)\b")
REGION = re.compile(
    r"\b(?:no|na|em|bairro|(?i:regi[aã]o)\s+d[oae]|(?i:perto)\s+d[oae]|(?i:pr[oó]ximo)\s+a[o]?)\s+"
    r"([A-ZÁÉÍÓÚÂÊÔÃÕÇ][\w'-]+(?:\s+(?:d[aoe]s?\s+)?[A-ZÁÉÍÓÚÂÊÔÃÕÇ][\w'-]+)*)"
)
NOT_REGIONS = {"caixa", "whatsapp", "zap", "instagram", "facebook", "olx", "internet", "site"}
HANDOFF = re.compile(r"\b(corretor|corretora|atendente|humano|humana|pessoa|alguem de verdade)\b")


def negated(folded: str, start: int) -> bool:
    return NEGATION.search(folded[max(0, start - 20) : start]) is not None


def _hits(pattern: re.Pattern[str], folded: str, value: Callable[[re.Match[str]], str | None]) -> list[Hit]:
    found = []
    for match in pattern.finditer(folded):
        result = value(match)
        if result is not None:
            found.append(Hit(result, match.start(), match.end()))
    return found


def _keywords(patterns: list[tuple[re.Pattern[str], str]], folded: str, negatable: bool) -> list[Hit]:
    hits: list[Hit] = []
    for pattern, value in patterns:
        for match in pattern.finditer(folded):
            if not (negatable and negated(folded, match.start())):
                hits.append(Hit(value, match.start(), match.end()))
    return hits


def purpose(folded: str) -> list[Hit]:
    return _keywords(PURPOSES, folded, negatable=True)


def property_type(folded: str) -> list[Hit]:
    return _keywords(PROPERTY_TYPES, folded, negatable=False)


def bedrooms(folded: str) -> list[Hit]:
    def value(m: re.Match[str]) -> str | None:
        word = m.group(1)
        count = int(word) if word.isdigit() else NUMBER_WORDS[word]
        return str(count) if 0 < count <= 20 else None

    return _hits(BEDROOMS, folded, value)


def parse_amount(amount: str, scale: str | None) -> int:
    if "," in amount:
        number = float(amount.replace(".", "").replace(",", "."))
    elif re.fullmatch(r"\d+\.\d{1,2}", amount):
        number = float(amount)
    else:
        number = float(amount.replace(".", ""))
    return round(number * MULTIPLIERS.get(scale or "", 1))


def budget(folded: str) -> list[Hit]:
    def value(m: re.Match[str]) -> str | None:
        reais = parse_amount(m.group(1), m.group(2))
        # Below R$ 100 is a typo or not money at all (a street number after "R$"?).
        return str(reais) if reais >= 100 else None

    hits: list[Hit] = []
    for pattern in BUDGETS:
        # "R$ 800 mil" is matched by both patterns; the first (with R$) wins.
        hits += [
            h for h in _hits(pattern, folded, value) if not any(o.start <= h.start < o.end for o in hits)
        ]
    return hits


def timeline(folded: str) -> list[Hit]:
    hits: list[Hit] = []
    for pattern in TIMELINES:
        # An empty value means "quote the lead's words", which keep their accents.
        hits += _hits(pattern, folded, lambda m: "")
    return hits


def financing(folded: str) -> list[Hit]:
    no = _hits(FINANCING_NO, folded, lambda m: "false")
    yes = _hits(FINANCING_YES, folded, lambda m: "false" if negated(folded, m.start()) else "true")
    return [h for h in yes if not any(o.start <= h.start < o.end for o in no)] + no


def region(text: str) -> list[Hit]:
    hits = []
    for match in REGION.finditer(text):
        name = match.group(1)
        if fold_letters(name.split()[0]) not in NOT_REGIONS:
            hits.append(Hit(name, match.start(), match.end(), confidence=0.6))
    return hits


EXTRACTORS: dict[str, Callable[[str], list[Hit]]] = {
    "purpose": purpose,
    "property_type": property_type,
    "bedrooms": bedrooms,
    "budget": budget,
    "timeline": timeline,
    "financing": financing,
}


def known_places(folded: str, vocabulary: Iterable[str]) -> list[Hit]:
    """Neighbourhoods and cities of the tenant's catalog, found whatever the lead's case and accents.

    The value is the catalog's spelling ("Água Verde"), so search filters match the catalog.
    """
    hits = []
    for place in vocabulary:
        key = fold_letters(place.strip())
        if len(key) < 3:
            continue
        for match in re.finditer(rf"(?<!\w){re.escape(key)}(?!\w)", folded):
            hits.append(Hit(place.strip(), match.start(), match.end(), confidence=0.9))
    return hits


def facts(messages: Iterable[str], vocabulary: Iterable[str] = ()) -> dict[str, Fact]:
    """The facts in the lead's messages (oldest first); a later mention replaces an earlier one.

    `vocabulary`: place names of the tenant's catalog; a place the lead names from it beats a guess.
    """
    places = sorted({v for v in vocabulary if v.strip()}, key=len, reverse=True)
    found: dict[str, Fact] = {}
    for text in messages:
        folded = fold_letters(text)
        for name, extractor in EXTRACTORS.items():
            _keep_last(found, name, text, extractor(folded))
        _keep_last(found, "region", text, known_places(folded, places) or region(text))
    return found


def _keep_last(found: dict[str, Fact], name: str, text: str, hits: list[Hit]) -> None:
    if hits:
        last = max(hits, key=lambda h: h.start)
        evidence = text[last.start : last.end].strip()
        found[name] = Fact(name, last.value or evidence, evidence, last.confidence)


def handoff_request(text: str) -> str | None:
    """The lead's words asking for a person, or None."""
    match = HANDOFF.search(fold_letters(text))
    return text[match.start() : match.end()] if match else None
