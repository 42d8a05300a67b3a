from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    ai_host: str = "127.0.0.1"
    ai_port: int = Field(default=DEFAULT_PORTS["ai"], ge=0, le=65535)
    ai_database_url: str | None = None
