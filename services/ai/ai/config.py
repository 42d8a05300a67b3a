from __future__ import annotations

from pydantic import Field, field_validator

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    ai_host: str = "127.0.0.1"
    ai_port: int = Field(default=DEFAULT_PORTS["ai"], ge=0, le=65535)
    ai_database_url: str | None = None
    # The responders' copy of a tenant's AI settings (and the built-in one's catalog places) is
    # refreshed after half to all of this; tenant's reply-data epoch, read every
    # ai_tenant_epoch_seconds (0: never), refreshes a tenant's copies at once when its settings or
    # catalog change.
    ai_tenant_cache_seconds: float = Field(default=30.0, gt=0, le=3600)
    ai_tenant_epoch_seconds: float = Field(default=1.0, ge=0, le=60)
    # No key: the built-in Portuguese responder answers (outcome "offline").
    openai_api_key: str = ""
    openai_base_url: str | None = None
    # The whole model part of one reply (all rounds and the retry) fits in this: the lead gets the
    # fallback within it instead of waiting on the SDK's 10-minute default.
    ai_timeout_seconds: float = Field(default=10.0, gt=0, le=15)
    ai_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=15)
    # The single retry is only worth it when this much of the deadline remains.
    ai_retry_min_remaining_seconds: float = Field(default=5.0, ge=0, le=15)
    ai_breaker_failures: int = Field(default=5, ge=1, le=1000)
    ai_breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)
    ai_max_tokens: int = Field(default=300, ge=16, le=300)
    ai_max_reply_chars: int = Field(default=700, ge=100, le=4000)
    ai_history_token_budget: int = Field(default=2500, ge=100, le=100_000)
    ai_max_message_chars: int = Field(default=1500, ge=100, le=20_000)
    ai_max_tool_rounds: int = Field(default=4, ge=1, le=8)
    # Planted in the system prompt; a reply containing it is never sent. Empty = random per process.
    ai_canary: str = ""

    @field_validator("openai_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    @property
    def model_enabled(self) -> bool:
        return bool(self.openai_api_key)
