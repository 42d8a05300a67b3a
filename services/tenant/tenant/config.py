from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings

MIN_SUPERADMIN_PASSWORD = 12


class Settings(CommonSettings):
    tenant_host: str = "127.0.0.1"
    tenant_port: int = Field(default=DEFAULT_PORTS["tenant"], ge=0, le=65535)
    tenant_database_url: str | None = None
    tenants_soft_limit: int = Field(default=10, ge=1)
    tenants_hard_limit: int = Field(default=50, ge=1)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_failure_window_seconds: int = Field(default=900, ge=10, le=86_400)
    superadmin_email: str = "admin@vellarys.local"
    # Empty in development: `python -m tenant seed` generates one and prints it once.
    superadmin_password: str = ""
    superadmin_tenant_name: str = "Vellarys"
    superadmin_tenant_slug: str = "vellarys"
    zapi_instance_id: str = ""
    zapi_token: str = ""
    zapi_client_token: str = ""


def superadmin_password_problem(settings: Settings) -> str | None:
    """Checked by `python -m tenant seed` only, so serving never needs the bootstrap password."""
    if not settings.is_production:
        return None
    if not settings.superadmin_password:
        return "SUPERADMIN_PASSWORD is required but not set (production)"
    if len(settings.superadmin_password) < MIN_SUPERADMIN_PASSWORD:
        return f"SUPERADMIN_PASSWORD is too short (need at least {MIN_SUPERADMIN_PASSWORD} characters)"
    return None
