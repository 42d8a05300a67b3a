"""Shared rules: timestamps, the connectivity probe, robustness of every adapter, the proto mapping."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.providers import PARSERS, wire
from gateway.providers.canonical import CONNECTIVITY_TEST, Kind, get_float, get_str, parse_timestamp
from vellarys.conversation.v1 import conversation_pb2 as pb

from .conftest import PAYLOADS, RECEIVED_AT

FIXTURE_PROVIDER = {"meta": "meta", "d360": "dialog360", "gupshup": "gupshup", "zapi": "zapi"}
FIXTURES = sorted(p.stem for p in PAYLOADS.glob("*.json"))
WRONG_VALUES: list[Any] = [None, "oops", 7, 1.5, True, [], {}, ["x"], [{"x": 1}]]


def parser_for(name: str):
    return PARSERS[FIXTURE_PROVIDER[name.split("_", 1)[0]]]


class TestTimestamps:
    @pytest.mark.parametrize(
        "value", [1767016800, "1767016800", 1767016800000, "1767016800000", 1767016800.0, " 1767016800 "]
    )
    def test_seconds_and_milliseconds(self, value):
        assert parse_timestamp(value, RECEIVED_AT) == datetime(2025, 12, 29, 14, 0, tzinfo=UTC)

    @pytest.mark.parametrize("value", [None, "", "soon", True, -5, 0, {}, [], 10**30, "nan"])
    def test_garbage_falls_back(self, value):
        assert parse_timestamp(value, RECEIVED_AT) == RECEIVED_AT


class TestGetters:
    def test_str_accepts_ints_not_bools(self):
        assert get_str({"a": 131047}, "a") == "131047"
        assert get_str({"a": True}, "a") == ""
        assert get_str({"a": {"b": 1}}, "a") == ""

    def test_float(self):
        assert get_float({"a": "-25.44"}, "a") == -25.44
        assert get_float({"a": False}, "a") is None
        assert get_float({"a": "x"}, "a") is None


class TestConnectivityCheck:
    @pytest.mark.parametrize("provider", sorted(PARSERS))
    def test_every_adapter_answers_the_probe_with_nothing(self, provider):
        result = PARSERS[provider]({"test": True}, RECEIVED_AT)
        assert (result.messages, result.statuses, result.ignored) == ([], [], [CONNECTIVITY_TEST])

    def test_test_false_is_not_the_probe(self):
        assert PARSERS["dialog360"]({"test": False}, RECEIVED_AT).ignored != [CONNECTIVITY_TEST]


class TestEveryFixture:
    @pytest.mark.parametrize("name", FIXTURES)
    def test_each_fixture_yields_something_or_a_reason(self, payload, name):
        result = parser_for(name)(payload(name), RECEIVED_AT)
        assert result.messages or result.statuses or result.ignored
        for message in result.messages:
            assert message.external_id and message.sender and message.sent_at.tzinfo is not None
            assert isinstance(message.raw, dict) and message.raw


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = copy.deepcopy(value)
    return out


@pytest.mark.parametrize("name", FIXTURES)
def test_any_value_of_the_wrong_type_never_raises(payload, name):
    """Every leaf and branch of every fixture, replaced by each wrong type: parsed or reported, no crash."""
    parse = parser_for(name)
    doc = payload(name)
    for path in paths(doc):
        for value in WRONG_VALUES:
            parse(replaced(doc, path, value), RECEIVED_AT)


class TestWire:
    def test_text_message_maps_to_the_contract(self, payload):
        [m] = PARSERS["meta"](payload("meta_text"), RECEIVED_AT).messages
        proto = wire.to_proto(m)
        assert proto.kind == pb.MESSAGE_KIND_TEXT and proto.channel_id == "106540352242922"
        assert (proto.provider, proto.sender, proto.sender_name) == (
            "meta",
            "+5541991234567",
            "Mariana Souza",
        )
        assert proto.sent_at.ToDatetime(tzinfo=UTC) == m.sent_at
        assert json.loads(proto.raw_json) == m.raw
        assert "está" in proto.raw_json  # not \u-escaped
        assert not proto.HasField("media") and not proto.HasField("location")

    def test_media_and_location(self, payload):
        [image] = PARSERS["meta"](payload("meta_image"), RECEIVED_AT).messages
        [place] = PARSERS["zapi"](payload("zapi_location"), RECEIVED_AT).messages
        assert wire.to_proto(image).media.id == "1003383421387256"
        assert wire.to_proto(place).location.latitude == -25.4521

    def test_every_kind_has_a_proto_value(self):
        assert set(wire.KINDS) == set(Kind)
        assert len(set(wire.KINDS.values())) == len(Kind)

    def test_interactive_reply_id(self, payload):
        [m] = PARSERS["gupshup"](payload("gupshup_list_reply"), RECEIVED_AT).messages
        proto = wire.to_proto(m)
        assert (proto.kind, proto.reply_id, proto.text) == (
            pb.MESSAGE_KIND_INTERACTIVE,
            "bairro-batel",
            "Batel",
        )
