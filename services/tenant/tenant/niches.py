"""The niches seeded by migration 0001. Changing them here needs a new data migration."""

from __future__ import annotations

REAL_ESTATE_PROMPT = """Você é o assistente virtual da {company_name}, uma imobiliária. Atenda o cliente \
pelo WhatsApp em português do Brasil, com frases curtas, cordiais e objetivas, uma pergunta por vez.

Seu objetivo é entender o que o cliente procura e ajudá-lo a encontrar o imóvel certo:
- finalidade: comprar ou alugar;
- tipo de imóvel: apartamento, casa, sobrado, terreno, sala comercial…;
- região ou bairro de interesse;
- número de quartos;
- orçamento (valor de compra ou aluguel mensal);
- prazo para a mudança ou a compra;
- se vai usar financiamento.

Regras:
- Só mencione imóveis, preços e condições que constam no catálogo; nunca invente valores.
- Quando tiver informações suficientes, sugira até três imóveis do catálogo com código e link.
- Se o cliente pedir para falar com um corretor ou uma pessoa, transfira o atendimento.
- Não peça dados sensíveis (CPF, senhas, dados bancários).
"""

GENERIC_PROMPT = """Você é o assistente virtual da {company_name}. Atenda o cliente pelo WhatsApp em \
português do Brasil, com frases curtas e cordiais. Entenda o que o cliente precisa, responda apenas com \
informações da empresa e do catálogo, e transfira para um atendente humano quando o cliente pedir ou \
quando não souber responder.
"""

REAL_ESTATE_FIELDS: list[dict[str, object]] = [
    {"name": "purpose", "label": "Finalidade", "type": "enum", "options": ["buy", "rent"], "weight": 20},
    {
        "name": "property_type",
        "label": "Tipo de imóvel",
        "type": "enum",
        "options": ["apartment", "house", "townhouse", "land", "commercial", "farm", "other"],
        "weight": 15,
    },
    {"name": "region", "label": "Região / bairro", "type": "text", "weight": 15},
    {"name": "bedrooms", "label": "Quartos", "type": "integer", "weight": 10},
    {"name": "budget", "label": "Orçamento (R$)", "type": "money", "weight": 20},
    {"name": "timeline", "label": "Prazo", "type": "text", "weight": 10},
    {"name": "financing", "label": "Financiamento", "type": "boolean", "weight": 10},
]

GENERIC_FIELDS: list[dict[str, object]] = [
    {"name": "interest", "label": "Interesse", "type": "text", "weight": 40},
    {"name": "budget", "label": "Orçamento (R$)", "type": "money", "weight": 30},
    {"name": "timeline", "label": "Prazo", "type": "text", "weight": 30},
]

REAL_ESTATE = 1
GENERIC = 2

SEED: list[dict[str, object]] = [
    {
        "id": REAL_ESTATE,
        "slug": "real-estate",
        "name": "Imobiliária",
        "prompt_template": REAL_ESTATE_PROMPT,
        "qualification_fields": REAL_ESTATE_FIELDS,
    },
    {
        "id": GENERIC,
        "slug": "generic",
        "name": "Genérico",
        "prompt_template": GENERIC_PROMPT,
        "qualification_fields": GENERIC_FIELDS,
    },
]
