from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    tenant_host: str = "127.0.0.1"
    tenant_port: int = Field(default=DEFAULT_PORTS["tenant"], ge=0, le=65535)
    tenant_database_url: str | None = None
    tenants_soft_limit: int = Field(default=10, ge=1)
    tenants_hard_limit: int = Field(default=50, ge=1)
