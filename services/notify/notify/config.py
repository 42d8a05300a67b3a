from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    notify_host: str = "127.0.0.1"
    notify_port: int = Field(default=DEFAULT_PORTS["notify"], ge=0, le=65535)
    notify_database_url: str | None = None

    # Providers' send APIs; tests and sandboxes point these at a fake.
    zapi_base_url: str = "https://api.z-api.io"
    dialog360_base_url: str = "https://waba-v2.360dialog.io"
    gupshup_base_url: str = "https://api.gupshup.io"
    meta_graph_base_url: str = "https://graph.facebook.com/v24.0"

    sender_enabled: bool = True
    sender_concurrency: int = Field(default=16, ge=1, le=500)
    sender_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # A claimed delivery whose worker died is picked up again after this.
    sender_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # How long SendMessage(wait=true) waits for the first attempt.
    send_wait_seconds: float = Field(default=8.0, gt=0, le=30)

    http_connect_timeout: float = Field(default=2.0, gt=0, le=60)
    http_total_timeout: float = Field(default=10.0, gt=0, le=120)
    http_max_response_bytes: int = Field(default=64 * 1024, ge=1024)

    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_base_seconds: float = Field(default=1.0, ge=0, le=3600)
    backoff_cap_seconds: float = Field(default=300.0, ge=0, le=86400)

    # Meta: 80 msg/s per business number; about 1 msg / 6 s per recipient after a short burst.
    pace_number_per_second: float = Field(default=80.0, gt=0)
    pace_recipient_burst: int = Field(default=3, ge=1)
    pace_recipient_interval_seconds: float = Field(default=6.0, ge=0)

    credentials_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    vapid_public_key: str = ""
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:ops@vellarys.local"
    push_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @property
    def base_urls(self) -> dict[str, str]:
        return {
            "zapi": self.zapi_base_url.rstrip("/"),
            "dialog360": self.dialog360_base_url.rstrip("/"),
            "gupshup": self.gupshup_base_url.rstrip("/"),
            "meta": self.meta_graph_base_url.rstrip("/"),
        }
