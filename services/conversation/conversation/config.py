from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    conversation_host: str = "127.0.0.1"
    conversation_port: int = Field(default=DEFAULT_PORTS["conversation"], ge=0, le=65535)
    conversation_database_url: str | None = None

    # Reply worker tasks in this process (0 = this replica only answers RPCs).
    reply_workers: int = Field(default=8, ge=0, le=256)
    # Used when the tenant's AI settings cannot be read (and until they are).
    reply_debounce_seconds: float = Field(default=3.0, ge=0, le=60)
    # A burst never delays its reply past this many debounce windows after its first message.
    reply_max_wait_factor: float = Field(default=3.0, ge=1, le=20)
    reply_settings_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    # A claimed job whose worker died is claimed again after this; longer than the ai deadline.
    reply_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    reply_poll_seconds: float = Field(default=0.1, gt=0, le=60)
    reply_ai_deadline_seconds: float = Field(default=12.0, gt=0, le=120)
    reply_notify_deadline_seconds: float = Field(default=5.0, gt=0, le=60)
    # While the model is down: first re-run after this, doubling, at most reply_retry_max_seconds.
    reply_retry_first_seconds: float = Field(default=60.0, gt=0, le=86400)
    reply_retry_max_seconds: float = Field(default=1800.0, gt=0, le=86400)
    # Outbound messages stored but not handed to notify after this long are handed again.
    reply_sweep_seconds: float = Field(default=10.0, gt=0, le=3600)
    reply_sweep_grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    reply_metrics_seconds: float = Field(default=5.0, gt=0, le=3600)

    # Seller assignment (issue 6.2). The tenant's AI settings have no pick-up time yet, so this one
    # (PICKUP_MINUTES) applies to every tenant: an assigned seller who neither answers nor takes the
    # conversation over within it loses the lead to the next seller in turn.
    pickup_minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60)
    assignment_sweep_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Also alert the assigned seller on WhatsApp (when their user has a phone); the tenant has no
    # setting for it yet.
    seller_whatsapp_alerts: bool = True
