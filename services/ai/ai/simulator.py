"""The simulator's pure rules: what a conversation and a saved case may hold, and how a reply is
checked against a case's expectations (expected vs actual, per expectation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ai import errors, offline
from ai.extract import Fact
from ai.offline import Turn
from ai.reply import Generated
from kit.text import fold_letters

MAX_MESSAGES = 50
MAX_TEXT_CHARS = 4000
MAX_NAME_CHARS = 100
MAX_PHRASES = 20
MAX_PHRASE_CHARS = 200
FIELD_NAMES = tuple(offline.WEIGHTS)


@dataclass(frozen=True)
class Expectations:
    fields: dict[str, str] = field(default_factory=dict)
    handoff: bool | None = None
    reply_contains: list[str] = field(default_factory=list)
    reply_not_contains: list[str] = field(default_factory=list)
    min_score: int | None = None
    max_score: int | None = None


@dataclass(frozen=True)
class CaseSpec:
    name: str
    lead_name: str
    messages: list[Turn]
    profile: list[Fact]
    expectations: Expectations


@dataclass(frozen=True)
class Check:
    expectation: str
    expected: str
    actual: str
    passed: bool


def validate_conversation(messages: Sequence[Turn], field_name: str = "history") -> None:
    if not messages:
        raise errors.MissingField(field_name)
    if len(messages) > MAX_MESSAGES:
        raise errors.BadValue(field_name, f"has more than {MAX_MESSAGES} messages")
    for index, turn in enumerate(messages):
        if turn.role not in (offline.LEAD, offline.ASSISTANT):
            raise errors.BadValue(f"{field_name}[{index}].role", "must be lead or assistant")
        if len(turn.text) > MAX_TEXT_CHARS:
            raise errors.BadValue(
                f"{field_name}[{index}].text", f"is longer than {MAX_TEXT_CHARS} characters"
            )
    if messages[-1].role != offline.LEAD:
        raise errors.BadValue(field_name, "must end with the lead's message(s) being answered")


def _validate_phrases(phrases: Sequence[str], name: str) -> None:
    if len(phrases) > MAX_PHRASES:
        raise errors.BadValue(name, f"has more than {MAX_PHRASES} phrases")
    for index, phrase in enumerate(phrases):
        if not phrase.strip() or len(phrase) > MAX_PHRASE_CHARS:
            raise errors.BadValue(f"{name}[{index}]", f"must have 1 to {MAX_PHRASE_CHARS} characters")


def validate_expectations(expected: Expectations) -> None:
    for name in expected.fields:
        if name not in FIELD_NAMES:
            raise errors.BadValue(f"expectations.fields.{name}", f"is not one of {', '.join(FIELD_NAMES)}")
    _validate_phrases(expected.reply_contains, "expectations.reply_contains")
    _validate_phrases(expected.reply_not_contains, "expectations.reply_not_contains")
    for name in ("min_score", "max_score"):
        value = getattr(expected, name)
        if value is not None and not 0 <= value <= 100:
            raise errors.BadValue(f"expectations.{name}", "must be between 0 and 100")
    low, high = expected.min_score, expected.max_score
    if low is not None and high is not None and low > high:
        raise errors.BadValue("expectations.max_score", "is below min_score")


def validate_case(spec: CaseSpec) -> None:
    if not spec.name.strip():
        raise errors.MissingField("name")
    if len(spec.name) > MAX_NAME_CHARS:
        raise errors.BadValue("name", f"is longer than {MAX_NAME_CHARS} characters")
    if len(spec.lead_name) > MAX_NAME_CHARS:
        raise errors.BadValue("lead_name", f"is longer than {MAX_NAME_CHARS} characters")
    validate_conversation(spec.messages, "messages")
    validate_expectations(spec.expectations)


def _same(expected: str, fact: Fact | None) -> bool:
    if not expected.strip():
        return fact is None
    wanted = fold_letters(expected).strip()
    return fact is not None and wanted in (
        fold_letters(fact.value).strip(),
        fold_letters(offline.display(fact)).strip(),
    )


def _field_checks(expected: Expectations, reply: Generated) -> list[Check]:
    profile = {f.name: f for f in reply.profile}
    checks = []
    for name, value in sorted(expected.fields.items()):
        fact = profile.get(name)
        checks.append(Check(f"fields.{name}", value, fact.value if fact else "", _same(value, fact)))
    return checks


def _phrase_checks(expected: Expectations, text: str) -> list[Check]:
    folded = fold_letters(text)
    checks = []
    for phrase in expected.reply_contains:
        found = fold_letters(phrase).strip() in folded
        checks.append(Check("reply_contains", phrase, "present" if found else "missing", found))
    for phrase in expected.reply_not_contains:
        found = fold_letters(phrase).strip() in folded
        checks.append(Check("reply_not_contains", phrase, "present" if found else "missing", not found))
    return checks


def check(expected: Expectations, reply: Generated) -> list[Check]:
    """Every expectation of the case against the reply; unset expectations are not checked."""
    checks = _field_checks(expected, reply)
    if expected.handoff is not None:
        actual = reply.handoff
        checks.append(Check("handoff", _flag(expected.handoff), _flag(actual), actual == expected.handoff))
    checks += _phrase_checks(expected, reply.text)
    if expected.min_score is not None:
        ok = reply.score >= expected.min_score
        checks.append(Check("min_score", str(expected.min_score), str(reply.score), ok))
    if expected.max_score is not None:
        ok = reply.score <= expected.max_score
        checks.append(Check("max_score", str(expected.max_score), str(reply.score), ok))
    return checks


def _flag(value: bool) -> str:
    return "true" if value else "false"


def expectations_json(expected: Expectations) -> dict[str, Any]:
    return asdict(expected)


def expectations_from_json(data: dict[str, Any]) -> Expectations:
    return Expectations(**{k: v for k, v in data.items() if k in Expectations.__dataclass_fields__})


def turns_json(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    return [{"role": t.role, "text": t.text} for t in turns]


def turns_from_json(data: Sequence[dict[str, Any]]) -> list[Turn]:
    return [Turn(str(d["role"]), str(d["text"])) for d in data]


def facts_json(facts: Sequence[Fact]) -> list[dict[str, Any]]:
    return [
        {"name": f.name, "value": f.value, "evidence": f.evidence, "confidence": f.confidence} for f in facts
    ]


def facts_from_json(data: Sequence[dict[str, Any]]) -> list[Fact]:
    return [Fact(d["name"], d["value"], d.get("evidence", ""), float(d.get("confidence", 0))) for d in data]
