"""Z-API: ReceivedCallback (every content type, fromMe, groups, @lid), status and delivery callbacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.providers import zapi
from gateway.providers.canonical import Kind, Status

INSTANCE = "3C4B2D9A1E0F5B7C8D6E4A2B0C9D8E7F"


def one(body, received_at):
    result = zapi.parse(body, received_at)
    assert result.ignored == [] and result.statuses == []
    [m] = result.messages
    return m


class TestReceived:
    def test_text(self, payload, received_at):
        m = one(payload("zapi_text"), received_at)
        assert m.provider == "zapi" and m.kind is Kind.TEXT and m.business_id == INSTANCE
        assert m.external_id == "3EB0C767D71D9A0E3A1F01"
        assert (m.sender, m.sender_phone_known, m.sender_name) == ("+5541991234567", True, "Mariana Souza")
        assert m.text == "Oi, o sobrado do Água Verde ainda está à venda?"
        assert m.sent_at == datetime(2025, 12, 29, 14, 0, tzinfo=UTC)  # momment is milliseconds

    @pytest.mark.parametrize(
        ("name", "kind", "url_tail", "mime"),
        [
            ("zapi_image", Kind.IMAGE, "image.jpeg", "image/jpeg"),
            ("zapi_audio", Kind.AUDIO, "audio.ogg", "audio/ogg; codecs=opus"),
            ("zapi_video", Kind.VIDEO, "video.mp4", "video/mp4"),
            ("zapi_document", Kind.DOCUMENT, "doc.pdf", "application/pdf"),
            ("zapi_sticker", Kind.STICKER, "sticker.webp", "image/webp"),
        ],
    )
    def test_media(self, payload, received_at, name, kind, url_tail, mime):
        m = one(payload(name), received_at)
        assert m.kind is kind and m.media is not None
        assert m.media.url.endswith(url_tail) and m.media.mime_type == mime

    def test_ptt_is_a_voice_note(self, payload, received_at):
        m = one(payload("zapi_audio"), received_at)
        assert m.media is not None and m.media.voice

    def test_document_filename_and_title(self, payload, received_at):
        m = one(payload("zapi_document"), received_at)
        assert m.media is not None and (m.media.filename, m.media.caption) == ("matricula.pdf", "matricula")

    def test_location(self, payload, received_at):
        m = one(payload("zapi_location"), received_at)
        assert m.location is not None and (m.location.latitude, m.location.longitude) == (-25.4521, -49.2713)
        assert m.location.name == "Praça do Japão"

    def test_contact(self, payload, received_at):
        m = one(payload("zapi_contact"), received_at)
        assert m.kind is Kind.CONTACTS
        assert [(c.name, c.phones) for c in m.contacts] == [("João Pereira", ("+5541998765432",))]

    @pytest.mark.parametrize(
        ("name", "reply_id", "title", "context"),
        [
            ("zapi_buttons_response", "visit-yes", "Quero visitar", "3EB0OUTBOUNDBUTTONS"),
            ("zapi_list_response", "bairro-batel", "Batel", "3EB0OUTBOUNDLIST"),
            ("zapi_poll_vote", "", "Comprar", "3EB0POLL"),
        ],
    )
    def test_replies(self, payload, received_at, name, reply_id, title, context):
        m = one(payload(name), received_at)
        assert m.kind is Kind.INTERACTIVE
        assert (m.reply_id, m.reply_title, m.text, m.context_id) == (reply_id, title, title, context)

    def test_reaction(self, payload, received_at):
        m = one(payload("zapi_reaction"), received_at)
        assert m.kind is Kind.REACTION and (m.reaction_emoji, m.reaction_to) == ("❤️", "3EB0796DC6B777C0C7CD")

    def test_unknown_content_is_unsupported_with_raw(self, payload, received_at):
        m = one(payload("zapi_unknown_type"), received_at)
        assert m.kind is Kind.UNSUPPORTED and m.raw["order"]["orderId"] == "422508169684569"

    def test_lid_sender(self, payload, received_at):
        m = one(payload("zapi_lid_sender"), received_at)
        assert (m.sender, m.sender_phone_known) == ("lid:81896604192873@lid", False)

    def test_lid_used_when_phone_missing(self, payload, received_at):
        body = payload("zapi_text")
        body["phone"] = None
        assert one(body, received_at).sender == "lid:81896604192873@lid"

    def test_legacy_twelve_digit_phone(self, payload, received_at):
        assert one(payload("zapi_legacy_12_digit"), received_at).sender == "+5541991234567"

    def test_from_me_is_kept_as_the_agency_speaking_to_the_lead(self, payload, received_at):
        m = one(payload("zapi_from_me"), received_at)
        assert m.from_me and m.sender == "+5541991234567"
        assert m.sender_name == "Mariana (lead Batel)"  # not the agency's own senderName

    def test_numeric_sender_name_is_not_a_name(self, payload, received_at):
        body = payload("zapi_text")
        body["senderName"] = "5541991234567"
        body["chatName"] = None
        assert one(body, received_at).sender_name == ""


class TestSkipped:
    def test_group(self, payload, received_at):
        result = zapi.parse(payload("zapi_group"), received_at)
        assert result.messages == [] and result.ignored == ["zapi: group message (only 1:1 chats are leads)"]

    def test_group_by_phone_suffix_alone(self, payload, received_at):
        body = payload("zapi_group")
        body["isGroup"] = False
        assert zapi.parse(body, received_at).messages == []

    @pytest.mark.parametrize(
        ("flag", "reason"),
        [("isNewsletter", "newsletter message"), ("broadcast", "broadcast or status-feed message")],
    )
    def test_channels_and_broadcasts(self, payload, received_at, flag, reason):
        body = payload("zapi_text")
        body[flag] = True
        assert zapi.parse(body, received_at).ignored == [f"zapi: {reason}"]

    def test_notification(self, payload, received_at):
        assert zapi.parse(payload("zapi_notification_call"), received_at).ignored == [
            "zapi: notification 'CALL_MISSED_VOICE'"
        ]

    def test_status_reply_is_a_real_message(self, payload, received_at):
        body = payload("zapi_text")
        body["isStatusReply"] = True
        assert one(body, received_at).text

    def test_other_callbacks(self, payload, received_at):
        assert zapi.parse(payload("zapi_disconnected"), received_at).ignored == [
            "zapi: event type 'DisconnectedCallback' is not handled"
        ]


class TestStatuses:
    def test_every_id_gets_an_update(self, payload, received_at):
        result = zapi.parse(payload("zapi_message_status"), received_at)
        assert [(s.external_id, s.status) for s in result.statuses] == [
            ("3EB0OUT1", Status.READ),
            ("3EB0OUT2", Status.READ),
        ]
        assert result.statuses[0].at == datetime(2025, 12, 29, 14, 0, 30, tzinfo=UTC)
        assert result.statuses[0].business_id == INSTANCE and result.statuses[0].recipient == "+5541991234567"

    def test_received_means_delivered(self, payload, received_at):
        [s] = zapi.parse(payload("zapi_message_status_received"), received_at).statuses
        assert s.status is Status.DELIVERED

    def test_read_by_me_is_not_a_delivery_status(self, payload, received_at):
        result = zapi.parse(payload("zapi_message_status_read_by_me"), received_at)
        assert result.statuses == [] and len(result.ignored) == 1

    def test_case_insensitive_type(self, payload, received_at):
        body = payload("zapi_message_status")
        body["type"] = "messageStatusCallBack"
        assert len(zapi.parse(body, received_at).statuses) == 2

    def test_ids_not_a_list(self, payload, received_at):
        body = payload("zapi_message_status")
        body["ids"] = "3EB0OUT1"
        assert zapi.parse(body, received_at).ignored == ["zapi: message status without ids"]

    def test_delivery_ok_is_queued(self, payload, received_at):
        [s] = zapi.parse(payload("zapi_delivery"), received_at).statuses
        assert (s.external_id, s.status, s.error_reason) == ("3EB0OUT1", Status.QUEUED, "")

    def test_delivery_error_is_failed(self, payload, received_at):
        [s] = zapi.parse(payload("zapi_delivery_error"), received_at).statuses
        assert (s.status, s.error_reason) == (Status.FAILED, "Phone number does not exist")


class TestOdd:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({}, "zapi: event type 'missing' is not handled"),
            ({"type": 42}, "zapi: event type '42' is not handled"),
            (
                {"type": "ReceivedCallback", "phone": "5541991234567"},
                "zapi: received message without messageId",
            ),
            (
                {"type": "ReceivedCallback", "messageId": "X", "phone": "abc"},
                "zapi: received message without a usable phone",
            ),
            ({"type": "DeliveryCallback"}, "zapi: delivery callback without messageId"),
        ],
    )
    def test_reported_never_raised(self, body, reason, received_at):
        assert zapi.parse(body, received_at).ignored == [reason]

    def test_content_of_the_wrong_type(self, payload, received_at):
        body = payload("zapi_text")
        body["text"] = "just a string"
        assert one(body, received_at).kind is Kind.UNSUPPORTED
