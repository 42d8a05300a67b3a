"""The built-in Portuguese responder: what it reads, asks, scores and when it hands off."""

from __future__ import annotations

import pytest

from ai.extract import Fact, facts
from ai.offline import ASSISTANT, LEAD, Options, Turn, respond
from kit.text import fold_letters


def lead(*texts: str) -> list[Turn]:
    return [Turn(LEAD, t) for t in texts]


def values(*texts: str) -> dict[str, str]:
    return {name: fact.value for name, fact in facts(texts).items()}


class TestExtraction:
    @pytest.mark.parametrize(
        ("utterance", "expected"),
        [
            ("Quero comprar um apartamento", {"purpose": "buy", "property_type": "apartment"}),
            ("Procuro casa para alugar", {"purpose": "rent", "property_type": "house"}),
            ("Vocês têm sobrado à venda? Quero comprar", {"purpose": "buy", "property_type": "townhouse"}),
            ("Tenho interesse em terreno", {"property_type": "land"}),
            (
                "Preciso de uma sala comercial para locação",
                {"purpose": "rent", "property_type": "commercial"},
            ),
            ("Apartamento de 3 quartos", {"property_type": "apartment", "bedrooms": "3"}),
            ("uma casa com três dormitórios", {"property_type": "house", "bedrooms": "3"}),
            ("2 suítes no mínimo", {"bedrooms": "2"}),
            ("Meu orçamento é até 800 mil", {"budget": "800000"}),
            ("Posso pagar R$ 850.000,00", {"budget": "850000"}),
            ("algo em torno de 1,2 milhão", {"budget": "1200000"}),
            ("aluguel até R$ 3.500 por mês", {"purpose": "rent", "budget": "3500"}),
            ("quero comprar, não alugar", {"purpose": "buy"}),
            ("não quero alugar, prefiro comprar", {"purpose": "buy"}),
            (
                "vi o apartamento de 3 quartos no Batel",
                {"property_type": "apartment", "bedrooms": "3", "region": "Batel"},
            ),
            ("pretendo usar financiamento pela Caixa", {"financing": "true"}),
            ("vou pagar à vista", {"financing": "false"}),
            ("sem financiamento, tenho o valor", {"financing": "false"}),
            ("quero me mudar em 3 meses", {"timeline": "em 3 meses"}),
            ("é urgente, preciso o quanto antes", {"timeline": "o quanto antes"}),
            ("Oi, bom dia!", {}),
            ("Minha Casa Minha Vida aceita?", {"financing": "true"}),
        ],
    )
    def test_reads(self, utterance: str, expected: dict[str, str]) -> None:
        assert values(utterance) == expected

    def test_later_mention_wins(self) -> None:
        assert values("quero alugar", "pensando melhor, quero comprar")["purpose"] == "buy"

    def test_evidence_quotes_the_leads_words_with_accents(self) -> None:
        found = facts(["Gostaria de três dormitórios"])
        assert found["bedrooms"].evidence == "três dormitórios"
        assert 0 < found["bedrooms"].confidence <= 1

    def test_fold_keeps_length(self) -> None:
        text = "Três Dormitórios à vista, São José"
        assert len(fold_letters(text)) == len(text)
        assert fold_letters(text) == "tres dormitorios a vista, sao jose"


class TestRespond:
    def test_greets_a_new_lead_by_first_name_and_asks_one_question(self) -> None:
        reply = respond("maria souza", lead("Oi, tudo bem?"))
        assert reply.text.startswith("Olá, Maria!")
        assert reply.text.count("?") == 1
        assert "comprar ou para alugar" in reply.text
        assert (reply.score, reply.handoff) == (0, False)

    def test_asks_the_first_missing_field(self) -> None:
        history = [*lead("Oi"), Turn(ASSISTANT, "Olá!"), *lead("Quero comprar um apartamento de 3 quartos")]
        reply = respond("Ana", history)
        assert not reply.text.startswith("Olá")
        assert "região ou bairro" in reply.text
        assert reply.score == 20 + 15 + 10
        assert [f.name for f in reply.profile] == ["purpose", "property_type", "bedrooms"]

    def test_rent_asks_monthly_budget_and_skips_financing(self) -> None:
        reply = respond("", lead("Quero alugar apartamento de 2 quartos no Centro"))
        assert "aluguel por mês" in reply.text
        assert any("financiamento: não se aplica" in r for r in reply.score_reasons)

    def test_known_profile_is_kept(self) -> None:
        known = [Fact("purpose", "buy", "quero comprar", 0.9), Fact("region", "Batel", "no Batel", 0.6)]
        reply = respond("Ana", lead("um sobrado"), known)
        names = {f.name: f.value for f in reply.profile}
        assert names == {"purpose": "buy", "region": "Batel", "property_type": "townhouse"}
        assert reply.score == 20 + 15 + 15

    def test_fully_qualified_scores_100(self) -> None:
        reply = respond(
            "Ana",
            lead(
                "Quero comprar uma casa de 3 quartos no Batel",
                "até 800 mil, com financiamento, em 6 meses",
            ),
        )
        assert reply.score == 100
        assert len(reply.score_reasons) == 7
        assert "vou separar as melhores opções" in reply.text
        assert "?" not in reply.text

    @pytest.mark.parametrize(
        "words",
        [
            "Quero falar com um corretor",
            "tem algum atendente?",
            "prefiro um humano",
            "posso falar com uma pessoa?",
        ],
    )
    def test_hands_off_when_asked_for_a_person(self, words: str) -> None:
        reply = respond("João", lead("quero comprar um apartamento", words))
        assert reply.handoff
        assert "pediu para falar com uma pessoa" in reply.handoff_reason
        assert "corretor" in reply.text
        assert reply.score == 35

    def test_no_handoff_for_an_old_request(self) -> None:
        history = [*lead("quero falar com um corretor"), Turn(ASSISTANT, "Claro!"), *lead("quero comprar")]
        assert not respond("", history).handoff

    def test_is_deterministic(self) -> None:
        history = lead("Quero comprar um terreno em Curitiba até R$ 300.000")
        assert respond("Ana", history) == respond("Ana", history)


class TestTenantOptions:
    def test_greeting_without_its_own_question(self) -> None:
        options = Options(greeting="Olá! Sou a Bia. Como posso ajudar?")
        reply = respond("maria", lead("oi"), options=options)
        assert reply.text.startswith("Olá, Maria! Sou a Bia. ") and reply.text.count("?") == 1

    def test_a_greeting_that_is_only_a_question_falls_back_to_ours(self) -> None:
        reply = respond("", lead("oi"), options=Options(greeting="Tudo bem?"))
        assert reply.text.startswith("Olá! Sou o assistente virtual")

    def test_tenant_keyword_and_threshold(self) -> None:
        by_word = respond("", lead("quero agendar uma visita"), options=Options(handoff_keywords=["visita"]))
        assert by_word.handoff and "visita" in by_word.handoff_reason
        by_score = respond("", lead("quero comprar uma casa"), options=Options(handoff_score=35))
        assert by_score.handoff and by_score.handoff_reason == "pontuação 35 atingiu o limite de 35"
        assert not respond("", lead("quero comprar uma casa"), options=Options(handoff_score=36)).handoff

    def test_suggestions_are_listed_before_the_question(self) -> None:
        options = Options(suggestions=["• AP-1 — Apartamento — R$ 500.000"])
        text = respond("", lead("quero comprar um apartamento"), options=options).text
        assert "Encontrei no nosso catálogo:\n• AP-1 — Apartamento — R$ 500.000\n\nEm qual região" in text
