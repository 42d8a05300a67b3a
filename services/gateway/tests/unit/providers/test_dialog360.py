"""360dialog: the Cloud-API format (Meta's) and the legacy On-Premise format."""

from __future__ import annotations

import pytest

from gateway.providers import dialog360
from gateway.providers.canonical import CONNECTIVITY_TEST, Kind, Status


class TestCloudFormat:
    def test_text(self, payload, received_at):
        result = dialog360.parse(payload("d360_cloud_text"), received_at)
        [m] = result.messages
        assert m.provider == "dialog360" and m.kind is Kind.TEXT
        assert m.business_id == "106540352242922" and m.sender == "+5541991234567"

    def test_statuses(self, payload, received_at):
        result = dialog360.parse(payload("d360_cloud_statuses"), received_at)
        assert [s.status for s in result.statuses] == [Status.SENT, Status.DELIVERED, Status.READ]
        assert {s.provider for s in result.statuses} == {"dialog360"}


class TestOnPremiseFormat:
    def test_text_has_no_business_id(self, payload, received_at):
        [m] = dialog360.parse(payload("d360_onprem_text"), received_at).messages
        assert m.external_id.startswith("ABGG") and m.business_id == ""
        assert (m.sender, m.sender_name, m.text) == (
            "+5541991234567",
            "Mariana Souza",
            "Bom dia, qual o valor do aluguel?",
        )

    def test_voice_is_audio(self, payload, received_at):
        [m] = dialog360.parse(payload("d360_onprem_voice"), received_at).messages
        assert m.kind is Kind.AUDIO and m.media is not None and m.media.voice
        assert m.media.id == "f2bd5a1c-1f44-4a5b-8a0d-2b1d5e6f7a8b"

    @pytest.mark.parametrize(
        ("name", "kind", "caption", "filename"),
        [
            ("d360_onprem_image", Kind.IMAGE, "Fachada", ""),
            ("d360_onprem_document", Kind.DOCUMENT, "RG", "rg-frente.pdf"),
        ],
    )
    def test_media(self, payload, received_at, name, kind, caption, filename):
        [m] = dialog360.parse(payload(name), received_at).messages
        assert m.kind is kind and m.media is not None
        assert (m.media.caption, m.media.filename) == (caption, filename)

    def test_statuses_including_failed_and_deleted(self, payload, received_at):
        result = dialog360.parse(payload("d360_onprem_statuses"), received_at)
        assert [s.status for s in result.statuses] == [Status.DELIVERED, Status.FAILED, Status.DELETED]
        assert result.statuses[1].error_code == "470" and result.statuses[0].external_id.startswith("gBEG")


class TestOddPayloads:
    def test_connectivity_check(self, payload, received_at):
        result = dialog360.parse(payload("d360_test"), received_at)
        assert (result.messages, result.statuses, result.ignored) == ([], [], [CONNECTIVITY_TEST])

    def test_unrecognised_body_names_its_keys(self, received_at):
        result = dialog360.parse({"hello": "world", "n": 1}, received_at)
        assert result.ignored == ["dialog360: unrecognised payload (keys: hello, n)"]

    def test_messages_as_string(self, received_at):
        result = dialog360.parse({"messages": "oops", "contacts": {"not": "a list"}}, received_at)
        assert result.messages == [] and result.ignored == [
            "dialog360: on-premise body messages is not a list"
        ]

    def test_contacts_only(self, received_at):
        result = dialog360.parse({"contacts": []}, received_at)
        assert result.ignored == ["dialog360: on-premise body has no messages, statuses or errors"]
