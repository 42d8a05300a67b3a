"""Meta Cloud API: every message type, batched entries, statuses, and payloads that don't fit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.providers import meta
from gateway.providers.canonical import Kind, Status

SENT = datetime(2025, 12, 29, 14, 0, tzinfo=UTC)


def one(payload, received_at):
    result = meta.parse(payload, received_at)
    assert result.ignored == [] and result.statuses == []
    assert len(result.messages) == 1
    return result.messages[0]


class TestMessages:
    def test_text(self, payload, received_at):
        m = one(payload("meta_text"), received_at)
        assert m.provider == "meta" and m.kind is Kind.TEXT
        assert m.text.startswith("Oi, vi o apartamento")
        assert m.external_id.startswith("wamid.")
        assert m.business_id == "106540352242922"
        assert (m.sender, m.sender_phone_known, m.sender_name) == ("+5541991234567", True, "Mariana Souza")
        assert m.sent_at == SENT and m.sent_at.tzinfo is not None
        assert m.raw == payload("meta_text")["entry"][0]["changes"][0]["value"]["messages"][0]
        assert not m.from_me

    def test_image(self, payload, received_at):
        m = one(payload("meta_image"), received_at)
        assert m.kind is Kind.IMAGE and m.media is not None
        assert m.media.id == "1003383421387256" and m.media.mime_type == "image/jpeg"
        assert m.media.url.startswith("https://lookaside") and m.media.sha256.startswith("Ub0h")
        assert m.text == m.media.caption == "Esse aqui, condomínio incluso?"

    def test_document_keeps_filename(self, payload, received_at):
        m = one(payload("meta_document"), received_at)
        assert m.kind is Kind.DOCUMENT and m.media is not None
        assert (m.media.filename, m.media.mime_type, m.media.url) == (
            "holerite-marco.pdf",
            "application/pdf",
            "",
        )

    def test_voice_note(self, payload, received_at):
        m = one(payload("meta_audio"), received_at)
        assert m.kind is Kind.AUDIO and m.media is not None and m.media.voice
        assert m.media.mime_type == "audio/ogg; codecs=opus"

    @pytest.mark.parametrize(("name", "kind"), [("meta_video", Kind.VIDEO), ("meta_sticker", Kind.STICKER)])
    def test_other_media(self, payload, received_at, name, kind):
        m = one(payload(name), received_at)
        assert m.kind is kind and m.media is not None and m.media.id

    def test_location(self, payload, received_at):
        m = one(payload("meta_location"), received_at)
        assert m.kind is Kind.LOCATION and m.location is not None
        assert (m.location.latitude, m.location.longitude) == (-25.4411, -49.2922)
        assert m.location.name == "Edifício Solar do Batel" and "Curitiba" in m.location.address

    def test_contacts(self, payload, received_at):
        m = one(payload("meta_contacts"), received_at)
        assert m.kind is Kind.CONTACTS
        assert [(c.name, c.phones) for c in m.contacts] == [("João Pereira", ("+5541998765432",))]
        assert m.text == "João Pereira: +5541998765432"

    @pytest.mark.parametrize(
        ("name", "reply_id", "title", "context"),
        [
            ("meta_interactive_button", "visit-yes", "Quero visitar", "wamid.OUTBOUND_BUTTONS"),
            ("meta_interactive_list", "bairro-batel", "Batel", "wamid.OUTBOUND_LIST"),
            ("meta_button", "INTERESSE_SIM", "Sim, tenho interesse", "wamid.OUTBOUND_TEMPLATE"),
        ],
    )
    def test_replies(self, payload, received_at, name, reply_id, title, context):
        m = one(payload(name), received_at)
        assert m.kind is Kind.INTERACTIVE
        assert (m.reply_id, m.reply_title, m.text, m.context_id) == (reply_id, title, title, context)

    def test_reaction(self, payload, received_at):
        m = one(payload("meta_reaction"), received_at)
        assert m.kind is Kind.REACTION
        assert (m.reaction_emoji, m.reaction_to) == ("😍", "wamid.OUTBOUND_PHOTO")

    def test_unsupported_keeps_raw(self, payload, received_at):
        m = one(payload("meta_unsupported"), received_at)
        assert m.kind is Kind.UNSUPPORTED
        assert m.raw["errors"][0]["code"] == 131051

    def test_brand_new_type_is_unsupported_not_dropped(self, payload, received_at):
        body = payload("meta_text")
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        message["type"] = "hologram"
        message["hologram"] = {"id": "h1"}
        m = one(body, received_at)
        assert m.kind is Kind.UNSUPPORTED and m.raw["hologram"] == {"id": "h1"}

    def test_legacy_twelve_digit_number_gets_the_ninth_digit(self, payload, received_at):
        m = one(payload("meta_text_legacy_br_number"), received_at)
        assert m.sender == "+5541991234567" and m.sender_name == "Mariana Souza"

    def test_bsuid_only_sender(self, payload, received_at):
        m = one(payload("meta_bsuid_only"), received_at)
        assert (m.sender, m.sender_phone_known, m.sender_name) == (
            "meta-user:BR.1502576394655843",
            False,
            "Carlos",
        )

    def test_missing_timestamp_falls_back_to_receipt(self, payload, received_at):
        body = payload("meta_text")
        del body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"]
        assert one(body, received_at).sent_at == received_at


class TestStatuses:
    def test_all_states_and_errors(self, payload, received_at):
        result = meta.parse(payload("meta_statuses"), received_at)
        assert result.messages == [] and result.ignored == []
        assert [s.status for s in result.statuses] == [
            Status.SENT,
            Status.DELIVERED,
            Status.READ,
            Status.FAILED,
        ]
        failed = result.statuses[-1]
        assert (failed.external_id, failed.error_code, failed.error_title) == (
            "wamid.OUT2",
            "131047",
            "Re-engagement message",
        )
        assert "24 hours" in failed.error_reason
        assert failed.recipient == "+5541991234567" and failed.business_id == "106540352242922"
        assert result.statuses[0].at == datetime(2025, 12, 29, 14, 0, 1, tzinfo=UTC)

    def test_unknown_status_is_reported(self, payload, received_at):
        body = payload("meta_statuses")
        body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "teleported"
        result = meta.parse(body, received_at)
        assert len(result.statuses) == 3 and result.ignored == ["meta: status 'teleported' is not known"]


class TestBatches:
    def test_two_entries_by_two_changes(self, payload, received_at):
        result = meta.parse(payload("meta_multi"), received_at)
        assert result.ignored == []
        assert [m.sender for m in result.messages] == [
            "+5541991234567",
            "+5541991234567",
            "+5511987654321",
            "+5511976543210",
        ]
        assert [m.sender_name for m in result.messages] == ["Mariana Souza", "Mariana Souza", "Paulo", "Ana"]
        assert [m.business_id for m in result.messages] == ["106540352242922"] * 2 + ["209876543210987"] * 2
        assert [s.external_id for s in result.statuses] == ["wamid.OUT1", "wamid.OUT1", "wamid.OUT9"]
        assert len({m.external_id for m in result.messages}) == 4


class TestOddPayloads:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({}, "meta: payload has no entry list"),
            ({"object": "page", "entry": []}, "meta: object 'page' is not whatsapp_business_account"),
            ({"object": "whatsapp_business_account", "entry": "x"}, "meta: payload has no entry list"),
            ({"entry": [1]}, "meta: entry[0] has no changes list"),
            (
                {"entry": [{"changes": [{"field": "messages"}]}]},
                "meta: entry[0].changes[0] has no value object",
            ),
            (
                {"entry": [{"changes": [{"field": "messages", "value": {"messages": "oops"}}]}]},
                "meta: entry[0].changes[0] messages is not a list",
            ),
            (
                {"entry": [{"changes": [{"field": "messages", "value": {"messages": ["x"]}}]}]},
                "meta: entry[0].changes[0] messages[0] not an object",
            ),
            (
                {
                    "entry": [
                        {
                            "changes": [
                                {"field": "messages", "value": {"messages": [{"from": "5541991234567"}]}}
                            ]
                        }
                    ]
                },
                "meta: message without id",
            ),
            (
                {"entry": [{"changes": [{"field": "messages", "value": {"messages": [{"id": "wamid.X"}]}}]}]},
                "meta: message without sender",
            ),
            (
                {"entry": [{"changes": [{"field": "account_update", "value": {"event": "VERIFIED"}}]}]},
                "meta: entry[0].changes[0] field 'account_update' is not handled",
            ),
            (
                {"entry": [{"changes": [{"field": "messages", "value": {"metadata": {}}}]}]},
                "meta: entry[0].changes[0] has no messages, statuses or errors",
            ),
            (
                {
                    "entry": [
                        {
                            "changes": [
                                {"value": {"errors": [{"code": 131000, "title": "Something went wrong"}]}}
                            ]
                        }
                    ]
                },
                "meta: entry[0].changes[0] error 131000 Something went wrong",
            ),
        ],
    )
    def test_reported_never_raised(self, body, reason, received_at):
        result = meta.parse(body, received_at)
        assert result.messages == [] and result.statuses == []
        assert result.ignored == [reason]

    def test_wrong_types_inside_a_message(self, payload, received_at):
        body = payload("meta_location")
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        message["location"] = {"latitude": "not-a-number", "longitude": None}
        message["timestamp"] = {"when": "now"}
        message["context"] = "nope"
        m = one(body, received_at)
        assert m.kind is Kind.UNSUPPORTED and m.sent_at == received_at and m.context_id == ""

    def test_one_bad_message_does_not_hide_the_others(self, payload, received_at):
        body = payload("meta_text")
        messages = body["entry"][0]["changes"][0]["value"]["messages"]
        messages.insert(0, {"type": "text"})
        result = meta.parse(body, received_at)
        assert len(result.messages) == 1 and result.ignored == ["meta: message without id"]

    def test_smb_echo_is_from_me_and_names_the_lead(self, received_at):
        body = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "smb_message_echoes",
                            "value": {
                                "metadata": {"phone_number_id": "106540352242922"},
                                "message_echoes": [
                                    {
                                        "from": "554130301200",
                                        "to": "554191234567",
                                        "id": "wamid.ECHO",
                                        "timestamp": "1767016800",
                                        "type": "text",
                                        "text": {"body": "Oi Mariana, sou o corretor"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        m = one(body, received_at)
        assert m.from_me and m.sender == "+5541991234567" and m.text == "Oi Mariana, sou o corretor"
