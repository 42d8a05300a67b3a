"""Settings shared by every service, validated at start with one clear line per problem.

Variable names are the seed's (``DATABASE_URL``, ``SECRET_KEY``, ``ENVIRONMENT``, ``DB_POOL_SIZE``…);
service-specific ones carry the service's prefix (``TENANT_PORT``, ``GATEWAY_PORT``…).
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

SERVICES = ("tenant", "conversation", "ai", "notify")
DEFAULT_PORTS = {"gateway": 8000, "tenant": 50051, "conversation": 50052, "ai": 50053, "notify": 50054}
# Each gRPC service's Prometheus endpoint (the gateway serves /metrics on its own HTTP port).
DEFAULT_METRICS_PORTS = {"tenant": 9101, "conversation": 9102, "ai": 9103, "notify": 9104}
# Known-bad values people copy from examples; refused in production.
WEAK_SECRETS = {"secret", "changeme", "change-me", "password", "dev", "development", "test"}
MIN_SECRET_LENGTH = 32
DEV_SECRET_KEY = "vellarys-development-only-secret-key-not-for-production"  # noqa: S105 (refused in production)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://``/``postgresql://`` (what hosts hand out) and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in {"postgresql", "postgres"}:
        raise ValueError(f"must be a PostgreSQL URL, got scheme {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, env_file=None)

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        description="Postgres URL of a role that may create roles and schemas (the bootstrap's)."
    )
    secret_key: str = Field(default="", description="Signs tokens and derives encryption keys.")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    # A table that has never been analysed is analysed once this many rows changed (0: leave it to
    # autovacuum), checked every db_first_analyze_seconds: see kit.dbstats.
    db_first_analyze_rows: int = Field(default=1000, ge=0)
    db_first_analyze_seconds: float = Field(default=5.0, gt=0, le=3600)
    db_role_prefix: str = Field(default="vellarys_", pattern=r"^[a-z_][a-z0-9_]*$")
    redis_url: str | None = None
    # Namespace of every Redis key we write, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = Field(default="vellarys:", pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    log_level: str = Field(default="INFO", pattern=r"(?i)^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_format: str = Field(default="json", pattern=r"^(json|text)$")
    sentry_dsn: str | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="overrides the per-service default; 0 turns it off"
    )
    grpc_deadline_seconds: float = Field(default=5.0, gt=0, le=300)
    grpc_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    tenant_addr: str = f"127.0.0.1:{DEFAULT_PORTS['tenant']}"
    conversation_addr: str = f"127.0.0.1:{DEFAULT_PORTS['conversation']}"
    ai_addr: str = f"127.0.0.1:{DEFAULT_PORTS['ai']}"
    notify_addr: str = f"127.0.0.1:{DEFAULT_PORTS['notify']}"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            return normalise_database_url(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        except Exception:
            raise ValueError("is not a valid URL (expected postgresql://user@host:port/db)") from None

    @field_validator("redis_url", "sentry_dsn")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str, info: ValidationInfo) -> str:
        # A field validator (not a model one) so this line is reported alongside other problems.
        if info.data.get("environment") is Environment.PRODUCTION:
            problem = secret_key_problem(value)
            if problem:
                raise ValueError(f"{problem} (a strong key is required in production)")
            return value
        return value or DEV_SECRET_KEY

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def service_addr(self, service: str) -> str:
        return str(getattr(self, f"{service}_addr"))


def secret_key_problem(value: str) -> str | None:
    """Why a SECRET_KEY is unfit for production, or None."""
    if not value:
        return "is missing"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is too short ({len(value)} characters, need at least {MIN_SECRET_LENGTH})"
    if value.lower() in WEAK_SECRETS or value == DEV_SECRET_KEY or len(set(value)) < 8:
        return "is a well-known or low-entropy value"
    return None


def derive_secret(secret_key: str, purpose: str) -> str:
    """A stable per-purpose secret, so one SECRET_KEY can serve many uses without reuse."""
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def role_name(settings: CommonSettings, service: str) -> str:
    return f"{settings.db_role_prefix}{service}"


def role_password(settings: CommonSettings, service: str) -> str:
    return derive_secret(settings.secret_key, f"db-role:{service}")


def service_database_url(settings: CommonSettings, service: str, override: str | None = None) -> str:
    """The URL a service connects with: its own role, which may touch only its own schema."""
    if override:
        return normalise_database_url(override)
    url = make_url(settings.database_url).set(
        username=role_name(settings, service), password=role_password(settings, service)
    )
    return url.render_as_string(hide_password=False)


S = TypeVar("S", bound=BaseSettings)


def _variable(loc: tuple[Any, ...]) -> str:
    return str(loc[0]).upper() if loc else "configuration"


def format_errors(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        if item.get("type") == "missing":
            message = "is required but not set"
        variable = _variable(item.get("loc", ()))
        if variable == "CONFIGURATION" or not item.get("loc"):
            lines.append(f"configuration error: {message}")
        else:
            lines.append(f"configuration error: {variable} {message}")
    return lines


def load(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment or exit(2) printing one line per bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        for line in format_errors(error):
            print(line, file=sys.stderr)
        raise SystemExit(2) from None
