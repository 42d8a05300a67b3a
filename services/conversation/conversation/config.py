from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    conversation_host: str = "127.0.0.1"
    conversation_port: int = Field(default=DEFAULT_PORTS["conversation"], ge=0, le=65535)
    conversation_database_url: str | None = None
