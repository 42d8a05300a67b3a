"""kit.text.fold_letters: the character-by-character rule, in one translate pass."""

from __future__ import annotations

import random
import unicodedata

from kit import text as kit_text
from kit.text import fold_letters


def reference(text: str) -> str:
    return "".join(unicodedata.normalize("NFD", ch)[0].lower()[:1] or ch for ch in text)


def test_portuguese_letters_fold_and_length_is_kept() -> None:
    assert fold_letters("Água Verde, São José — AÇÃO") == "agua verde, sao jose — acao"
    # "İ".lower() is two characters: the first is kept, so indexes still line up.
    for text in ("İstanbul", "ǅemal", "ﬁm", "ẞ", "Ⅻ", "😀 ok"):
        assert len(fold_letters(text)) == len(text)
        assert fold_letters(text) == reference(text)


def test_matches_the_per_character_rule_on_random_text() -> None:
    rng = random.Random(7)
    pools = [range(0x20, 0x250), range(0x1E00, 0x1F00), range(0x300, 0x370), range(0x1F600, 0x1F650)]
    for _ in range(3000):
        text = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(0, 40)))
        assert fold_letters(text) == reference(text)


def test_the_table_stays_bounded_whatever_characters_arrive() -> None:
    many = "".join(chr(c) for c in range(0x4E00, 0x4E00 + kit_text.TABLE_MAX + 5000))  # CJK, all distinct
    assert fold_letters(many) == reference(many)
    assert len(kit_text._FOLD) <= kit_text.TABLE_MAX
    assert fold_letters("Ação") == "acao"  # still right once the table is full
