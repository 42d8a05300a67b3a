"""Encryption at rest of provider secrets (Fernet keys derived from SECRET_KEY).

Rotation: set the new SECRET_KEY and keep the old one in SECRET_KEY_PREVIOUS; values written with
the old key still decrypt and are re-encrypted with the new one the next time they are saved.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kit.config import derive_secret

PURPOSE = "channel-secrets"
MASK = "••••"


def fernet_key(secret_key: str, purpose: str = PURPOSE) -> bytes:
    # derive_secret gives 64 hex chars; their first 32 bytes' worth (as raw bytes) is the Fernet key.
    raw = bytes.fromhex(derive_secret(secret_key, purpose))
    return base64.urlsafe_b64encode(raw[:32])


class SecretBox:
    def __init__(self, secret_key: str, previous_keys: tuple[str, ...] = ()) -> None:
        keys = [secret_key, *(k for k in previous_keys if k)]
        self._fernet = MultiFernet([Fernet(fernet_key(k)) for k in keys])

    @classmethod
    def from_settings(cls, secret_key: str) -> SecretBox:
        previous = os.environ.get("SECRET_KEY_PREVIOUS", "")
        return cls(secret_key, tuple(k.strip() for k in previous.split(",") if k.strip()))

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError("stored secret cannot be decrypted with SECRET_KEY(_PREVIOUS)") from None

    def encrypt_json(self, values: dict[str, str]) -> str:
        return self.encrypt(json.dumps(values, sort_keys=True))

    def decrypt_json(self, token: str | None) -> dict[str, str]:
        if not token:
            return {}
        loaded = json.loads(self.decrypt(token))
        return {str(k): str(v) for k, v in loaded.items()}


def mask(value: str) -> str:
    """Enough to recognise a secret, never enough to use it."""
    if not value:
        return ""
    return MASK + (value[-4:] if len(value) >= 12 else "")
