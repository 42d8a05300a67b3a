"""Webhook authenticity: HMAC over the exact bytes, constant-time secrets, empty secrets never pass."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from gateway.providers.signatures import (
    meta_handshake,
    meta_signature,
    verify_dialog360_header,
    verify_meta_signature,
    verify_secret,
    verify_url_token,
)

SECRET = "4f1c7e9a0b2d4c6e8f0a1b3c5d7e9f10"
BODY = json.dumps({"entry": [{"text": "está disponível? condomínio"}]}, ensure_ascii=False).encode()


class TestMetaSignature:
    def test_valid_signature(self):
        assert verify_meta_signature(BODY, meta_signature(BODY, SECRET), SECRET)

    def test_matches_an_independent_hmac(self):
        digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
        assert verify_meta_signature(BODY, f"sha256={digest}", SECRET)

    def test_uppercase_hex_and_scheme_accepted(self):
        header = meta_signature(BODY, SECRET)
        assert verify_meta_signature(BODY, "SHA256=" + header.split("=", 1)[1].upper(), SECRET)

    def test_forged_signature_rejected(self):
        forged = meta_signature(BODY, "not-the-app-secret")
        assert not verify_meta_signature(BODY, forged, SECRET)

    def test_reserialised_body_fails(self):
        header = meta_signature(BODY, SECRET)
        reserialised = json.dumps(json.loads(BODY), separators=(",", ":"), ensure_ascii=False).encode()
        assert reserialised != BODY
        assert not verify_meta_signature(reserialised, header, SECRET)

    def test_escaped_unicode_is_a_different_body(self):
        header = meta_signature(BODY, SECRET)
        escaped = json.dumps(json.loads(BODY)).encode()  # \u00e1 instead of á
        assert not verify_meta_signature(escaped, header, SECRET)

    def test_tampered_body_fails(self):
        header = meta_signature(BODY, SECRET)
        assert not verify_meta_signature(BODY.replace(b"3", b"4") + b" ", header, SECRET)

    def test_empty_secret_never_passes(self):
        # Even a signature honestly computed with the empty key must not authenticate anything.
        assert not verify_meta_signature(BODY, meta_signature(BODY, ""), "")

    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "sha256=",
            "sha256",
            "sha1=" + "a" * 40,
            "md5=" + "a" * 64,
            "sha256=" + "g" * 64,
            "sha256=" + "a" * 63,
            "sha256=" + "a" * 65,
            "sha256=zz ünïcode",
        ],
    )
    def test_missing_or_malformed_header_rejected(self, header):
        assert not verify_meta_signature(BODY, header, SECRET)


class TestSharedSecrets:
    def test_dialog360_header_matches_case_insensitively_by_name(self):
        headers = {"content-type": "application/json", "x-webhook-secret": SECRET}
        assert verify_dialog360_header(headers, "X-Webhook-Secret", SECRET)

    def test_dialog360_wrong_or_missing_header(self):
        assert not verify_dialog360_header(
            {"X-Webhook-Secret": SECRET[:-1] + "1"}, "X-Webhook-Secret", SECRET
        )
        assert not verify_dialog360_header({}, "X-Webhook-Secret", SECRET)

    def test_dialog360_unconfigured_secret_or_name_fails(self):
        assert not verify_dialog360_header({"X-Webhook-Secret": ""}, "X-Webhook-Secret", "")
        assert not verify_dialog360_header({"": SECRET}, "", SECRET)

    def test_url_token(self):
        assert verify_url_token("tok_8Jd7aP2xQ", "tok_8Jd7aP2xQ")
        assert not verify_url_token("tok_8Jd7aP2xq", "tok_8Jd7aP2xQ")
        assert not verify_url_token(None, "tok_8Jd7aP2xQ")
        assert not verify_url_token("", "")

    def test_non_ascii_token_does_not_raise(self):
        assert not verify_secret("ação", SECRET)


class TestMetaHandshake:
    def test_matching_token_echoes_challenge(self):
        params = {
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": "vellarys-verify",
        }
        assert meta_handshake(params, "vellarys-verify") == "1158201444"

    @pytest.mark.parametrize(
        "params",
        [
            {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
            {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "vellarys-verify"},
            {"hub.mode": "subscribe", "hub.verify_token": "vellarys-verify"},
            {},
        ],
    )
    def test_refused(self, params):
        assert meta_handshake(params, "vellarys-verify") is None

    def test_empty_configured_token_refuses(self):
        assert (
            meta_handshake({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}, "")
            is None
        )
