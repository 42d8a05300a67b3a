"""More Portuguese utterances for the built-in extractor (with test_offline.py: well over 40)."""

from __future__ import annotations

import pytest

from ai.extract import facts

VOCABULARY = ["Centro", "Água Verde", "Batel", "São José dos Pinhais", "Curitiba", "Ecoville"]


def values(text: str, vocabulary: list[str] | None = None) -> dict[str, str]:
    return {name: fact.value for name, fact in facts([text], vocabulary or []).items()}


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("uns 4 mil de aluguel", {"purpose": "rent", "budget": "4000"}),
        ("três dormitórios", {"bedrooms": "3"}),
        ("dois dormitórios", {"bedrooms": "2"}),
        ("quatro quartos", {"bedrooms": "4"}),
        ("1 quarto", {"bedrooms": "1"}),
        ("apto 2 dorms", {"property_type": "apartment", "bedrooms": "2"}),
        ("quero uma sala comercial", {"property_type": "commercial"}),
        ("imóvel comercial no térreo", {"property_type": "commercial"}),
        ("procuro um sobrado", {"property_type": "townhouse"}),
        ("cobertura duplex", {"property_type": "apartment"}),
        ("kitnet pra alugar", {"purpose": "rent", "property_type": "apartment"}),
        ("galpão para locação", {"purpose": "rent", "property_type": "commercial"}),
        ("lote em condomínio", {"property_type": "land"}),
        ("R$ 1.500.000", {"budget": "1500000"}),
        ("1,5 milhão", {"budget": "1500000"}),
        ("orçamento de 500k", {"budget": "500000"}),
        ("no máximo 600 mil", {"budget": "600000"}),
        ("por volta de 750 mil", {"budget": "750000"}),
        ("até R$ 2.000 por mês", {"budget": "2000"}),
        ("compra à vista", {"purpose": "buy", "financing": "false"}),
        ("uso meu FGTS", {"financing": "true"}),
        ("não quero financiamento", {"financing": "false"}),
        ("daqui a 6 meses", {"timeline": "daqui a 6 meses"}),
        ("ano que vem", {"timeline": "ano que vem"}),
        ("sem pressa nenhuma", {"timeline": "sem pressa"}),
        ("Quero morar no Água Verde", {"region": "Água Verde"}),
        ("perto do Parque Barigui", {"region": "Parque Barigui"}),
    ],
)
def test_reads(utterance: str, expected: dict[str, str]) -> None:
    assert values(utterance) == expected


@pytest.mark.parametrize(
    ("utterance", "region"),
    [
        ("quero um ap no centro", "Centro"),
        ("perto da agua verde", "Água Verde"),
        ("moro em sao jose dos pinhais", "São José dos Pinhais"),
        ("algo no BATEL", "Batel"),
        ("no ecoville de preferência", "Ecoville"),
    ],
)
def test_places_from_the_catalog_vocabulary_ignore_case_and_accents(utterance: str, region: str) -> None:
    found = facts([utterance], VOCABULARY)
    assert found["region"].value == region
    # The evidence is the lead's own spelling.
    assert found["region"].evidence.lower() in utterance.lower()


def test_a_place_outside_the_vocabulary_is_not_invented() -> None:
    assert "region" not in facts(["quero algo na praia"], VOCABULARY)
