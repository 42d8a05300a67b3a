"""How a message names catalog listings: by listing code or by trigger keyword.

The tenant service cuts products' codes and keywords and messages with these (MatchProducts); the
ai service cuts a message the same way to tell, from the tenant's list of codes and keywords
(ListTriggerTerms), whether it can name any listing at all before asking.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[a-z0-9]+")
# A trigger keyword is found as a run of at most this many words of the message.
LONGEST_PHRASE = 4


def fold(text: str) -> str:
    """Lower-case, accents removed, whitespace collapsed: "Cobertura  Água" → "cobertura agua"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def code_key(code: str) -> str:
    """ "AP-1234", "ap 1234" and "AP1234" are the same listing code."""
    return "".join(words(code)).upper()


def phrases(text: str, longest: int = LONGEST_PHRASE) -> set[str]:
    """Every run of up to `longest` consecutive words, folded and space-joined."""
    return _phrases(words(text), longest)


def code_candidates(text: str) -> set[str]:
    """Code keys a message may contain: single tokens and runs of 2–3 tokens glued together."""
    return _code_candidates(words(text))


def candidates(text: str) -> tuple[set[str], set[str]]:
    """(code_candidates(text), phrases(text)), cutting the text into words once."""
    found = words(text)
    return _code_candidates(found), _phrases(found, LONGEST_PHRASE)


def _phrases(found: list[str], longest: int) -> set[str]:
    return {" ".join(found[i : i + n]) for n in range(1, longest + 1) for i in range(len(found) - n + 1)}


def _code_candidates(found: list[str]) -> set[str]:
    keys = {"".join(found[i : i + n]).upper() for n in range(1, 4) for i in range(len(found) - n + 1)}
    # Short keys ("1", "AP") would match every price or word; real listing codes are longer.
    return {k for k in keys if len(k) >= 3 and any(c.isdigit() for c in k)}
