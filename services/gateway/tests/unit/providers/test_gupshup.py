"""Gupshup v2: message, message-event and user-event callbacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.providers import gupshup
from gateway.providers.canonical import CONNECTIVITY_TEST, Kind, Status


def one(body, received_at):
    result = gupshup.parse(body, received_at)
    assert result.ignored == [] and result.statuses == []
    [m] = result.messages
    return m


class TestMessages:
    def test_text(self, payload, received_at):
        m = one(payload("gupshup_text"), received_at)
        assert m.provider == "gupshup" and m.kind is Kind.TEXT and m.business_id == "AraucariaImoveis"
        assert (m.sender, m.sender_name) == ("+5541991234567", "Mariana Souza")
        assert m.text.startswith("Oi! Vocês têm casa")
        # top-level timestamp is milliseconds
        assert m.sent_at == datetime(2025, 12, 29, 14, 0, 0, 123000, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("name", "kind", "mime", "caption", "filename"),
        [
            ("gupshup_image", Kind.IMAGE, "image/jpeg", "Planta", ""),
            ("gupshup_file", Kind.DOCUMENT, "application/pdf", "Proposta", "proposta-assinada.pdf"),
            ("gupshup_audio", Kind.AUDIO, "audio/ogg; codecs=opus", "", ""),
            ("gupshup_video", Kind.VIDEO, "video/mp4", "Vídeo da rua", ""),
        ],
    )
    def test_media(self, payload, received_at, name, kind, mime, caption, filename):
        m = one(payload(name), received_at)
        assert m.kind is kind and m.media is not None
        assert m.media.url.startswith("https://filemanager.gupshup.io/")
        assert (m.media.mime_type, m.media.caption, m.media.filename) == (mime, caption, filename)

    def test_location_with_string_coordinates(self, payload, received_at):
        m = one(payload("gupshup_location"), received_at)
        assert m.kind is Kind.LOCATION and m.location is not None
        assert (m.location.latitude, m.location.longitude) == (-25.4411, -49.2922)

    def test_contact(self, payload, received_at):
        m = one(payload("gupshup_contact"), received_at)
        assert m.kind is Kind.CONTACTS and m.contacts[0].phones == ("+5541998765432",)

    @pytest.mark.parametrize(
        ("name", "reply_id", "title"),
        [
            ("gupshup_button_reply", "visit-yes", "Quero visitar"),
            ("gupshup_list_reply", "bairro-batel", "Batel"),
            ("gupshup_quick_reply", "INTERESSE_SIM", "Sim, tenho interesse"),
        ],
    )
    def test_replies(self, payload, received_at, name, reply_id, title):
        m = one(payload(name), received_at)
        assert m.kind is Kind.INTERACTIVE and (m.reply_id, m.reply_title, m.text) == (reply_id, title, title)

    def test_reply_context(self, payload, received_at):
        assert one(payload("gupshup_button_reply"), received_at).context_id == "gBGGFlB5YjhvAgnBtGOlSWYq"

    def test_unknown_type_is_unsupported_with_raw(self, payload, received_at):
        body = payload("gupshup_text")
        body["payload"]["type"] = "order"
        body["payload"]["payload"] = {"catalog_id": "1"}
        m = one(body, received_at)
        assert m.kind is Kind.UNSUPPORTED and m.raw["payload"] == {"catalog_id": "1"}

    def test_sender_from_sender_phone_when_source_missing(self, payload, received_at):
        body = payload("gupshup_text")
        del body["payload"]["source"]
        assert one(body, received_at).sender == "+5541991234567"


class TestMessageEvents:
    def test_enqueued_uses_gupshup_id_and_keeps_whatsapp_id(self, payload, received_at):
        [s] = gupshup.parse(payload("gupshup_event_enqueued"), received_at).statuses
        assert s.status is Status.QUEUED
        assert (s.external_id, s.secondary_id) == (
            "59f8db90-c4b1-4f2b-9e0b-7bb2c2b3f4a1",
            "gBEGVUGZkSNnAgkJYYGVH0M0R0E",
        )

    @pytest.mark.parametrize(
        ("name", "status", "second"),
        [
            ("gupshup_event_sent", Status.SENT, 6),
            ("gupshup_event_delivered", Status.DELIVERED, 8),
            ("gupshup_event_read", Status.READ, 12),
        ],
    )
    def test_progress_correlates_on_gs_id(self, payload, received_at, name, status, second):
        [s] = gupshup.parse(payload(name), received_at).statuses
        assert s.status is status and s.external_id == "59f8db90-c4b1-4f2b-9e0b-7bb2c2b3f4a1"
        assert s.secondary_id == "gBEGVUGZkSNnAgkJYYGVH0M0R0E" and s.recipient == "+5541991234567"
        assert s.at == datetime(2025, 12, 29, 14, 0, second, tzinfo=UTC)  # payload.ts, seconds

    def test_sync_failure(self, payload, received_at):
        [s] = gupshup.parse(payload("gupshup_event_failed"), received_at).statuses
        assert s.status is Status.FAILED and s.external_id == "ee4a68a0-1203-4c85-8dc3-49d0b3226a35"
        assert (s.error_code, s.error_reason) == ("1008", "User is not Opted in and Inactive")

    def test_async_failure(self, payload, received_at):
        [s] = gupshup.parse(payload("gupshup_event_failed_async"), received_at).statuses
        assert s.external_id == "59f8db90-c4b1-4f2b-9e0b-7bb2c2b3f4a1" and s.error_code == "470"

    def test_unknown_event(self, payload, received_at):
        body = payload("gupshup_event_read")
        body["payload"]["type"] = "mismatch"
        assert gupshup.parse(body, received_at).ignored == [
            "gupshup: message-event 'mismatch' is not handled"
        ]


class TestOtherEvents:
    @pytest.mark.parametrize(
        ("name", "sub"),
        [
            ("gupshup_user_event_opted_out", "opted-out"),
            ("gupshup_user_event_sandbox_start", "sandbox-start"),
        ],
    )
    def test_user_events_are_reported_without_the_phone(self, payload, received_at, name, sub):
        result = gupshup.parse(payload(name), received_at)
        assert result.messages == [] and result.statuses == []
        assert result.ignored == [f"gupshup: user-event {sub!r} carries no message"]
        assert "5541" not in result.ignored[0]

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({"type": "billing-event", "payload": {}}, "gupshup: event type 'billing-event' is not handled"),
            ({"type": "message", "payload": "oops"}, "gupshup: message event without a payload object"),
            ({}, "gupshup: untyped event without a payload object"),
            ({"type": "message", "payload": {"type": "text"}}, "gupshup: message without id"),
            (
                {"type": "message", "payload": {"id": "x", "source": "abc"}},
                "gupshup: message without a usable sender",
            ),
        ],
    )
    def test_odd_payloads(self, body, reason, received_at):
        assert gupshup.parse(body, received_at).ignored == [reason]

    def test_connectivity_check(self, received_at):
        assert gupshup.parse({"test": True}, received_at).ignored == [CONNECTIVITY_TEST]

    def test_v3_meta_format_is_understood(self, payload, received_at):
        body = payload("meta_text")
        body["gs_app_id"] = "f1a2b3c4"
        [m] = gupshup.parse(body, received_at).messages
        assert m.provider == "gupshup" and m.kind is Kind.TEXT
