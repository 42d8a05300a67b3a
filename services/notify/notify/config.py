from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    notify_host: str = "127.0.0.1"
    notify_port: int = Field(default=DEFAULT_PORTS["notify"], ge=0, le=65535)
    notify_database_url: str | None = None
