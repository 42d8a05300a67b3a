from __future__ import annotations

import pytest

from tenant.crypto import SecretBox, mask


def test_round_trip_and_ciphertext_hides_value():
    box = SecretBox("k" * 40)
    token = box.encrypt_json({"token": "super-secret-value"})
    assert "super-secret-value" not in token
    assert box.decrypt_json(token) == {"token": "super-secret-value"}


def test_rotation_with_previous_key():
    old = SecretBox("old-key-" * 5)
    token = old.encrypt("value")
    assert SecretBox("new-key-" * 5, ("old-key-" * 5,)).decrypt(token) == "value"
    with pytest.raises(ValueError):
        SecretBox("new-key-" * 5).decrypt(token)


def test_mask():
    assert mask("abcdefghijkl1234") == "••••1234"
    assert mask("short") == "••••"
    assert mask("") == ""
