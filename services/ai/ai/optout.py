"""Opt-out / opt-in detection (LGPD, WhatsApp policy): pure, the same for every responder.

The conversation service enforces the silence; this only recognises the lead's words. A message
counts when it is the keyword, maybe with a few polite words around it ("PARAR por favor"), so a
lead saying "não quero parar de receber" or "vou sair de casa" is not opted out.
"""

from __future__ import annotations

import re

from kit.text import fold_letters

OPT_OUT_WORDS = r"parar|pare|sair|stop|cancelar|descadastrar|descadastre|unsubscribe"
OPT_IN_WORDS = r"voltar|assinar|start|reativar"
FILLER = r"(?:\s*(?:por favor|pfv|pf|obrigad[oa]|quero|eu|me|agora|ok|please|[.!,;]))*"
OPT_OUT = re.compile(rf"^{FILLER}\s*(?:{OPT_OUT_WORDS}){FILLER}\s*$")
OPT_OUT_PHRASES = re.compile(
    r"\b(nao quero (mais )?receber|pare de (me )?mandar|para de (me )?mandar|me (tire|tira|remova|remove)"
    r" da lista|descadastr\w+ (meu|o meu) (numero|telefone|contato))\b"
)
OPT_IN = re.compile(rf"^{FILLER}\s*(?:{OPT_IN_WORDS}){FILLER}\s*$")
OPT_IN_PHRASES = re.compile(
    r"\b(quero voltar a receber|pode(m)? voltar a (me )?mandar|quero receber de novo)\b"
)

OPT_OUT_CONFIRMATION = (
    "Tudo bem, você não receberá mais mensagens automáticas nossas. "
    "Se quiser voltar a receber, é só enviar VOLTAR."
)
OPT_IN_CONFIRMATION = "Que bom ter você de volta! Como posso ajudar na sua busca por um imóvel?"


def _clean(text: str) -> str:
    # Emoji and punctuation around the word do not change what the lead asked.
    return re.sub(r"[^\w\s.!,;]", " ", fold_letters(text)).strip()


# A long message that mentions the word is a conversation, not a command.
MAX_COMMAND_CHARS = 80


def _matches(text: str, command: re.Pattern[str], phrases: re.Pattern[str]) -> bool:
    cleaned = _clean(text)[:500]
    if not cleaned:
        return False
    return bool((len(cleaned) <= MAX_COMMAND_CHARS and command.match(cleaned)) or phrases.search(cleaned))


def is_opt_out(text: str) -> bool:
    return _matches(text, OPT_OUT, OPT_OUT_PHRASES)


def is_opt_in(text: str) -> bool:
    return _matches(text, OPT_IN, OPT_IN_PHRASES)
