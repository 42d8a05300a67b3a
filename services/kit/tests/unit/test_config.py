"""Bad configuration stops start-up with one clear line per problem."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kit import config
from kit.config import CommonSettings


def load_with(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> list[str]:
    for key in list(os.environ):
        if key in {"DATABASE_URL", "SECRET_KEY", "ENVIRONMENT", "DB_POOL_SIZE", "REDIS_URL"}:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_:
        config.load(CommonSettings)
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()


class TestLoad:
    def test_missing_database_url_is_named(self, monkeypatch, capsys):
        lines = load_with(monkeypatch, capsys)
        assert lines == ["configuration error: DATABASE_URL is required but not set"]

    def test_one_line_per_problem(self, monkeypatch, capsys):
        lines = load_with(
            monkeypatch, capsys, DATABASE_URL="mysql://x@y/z", DB_POOL_SIZE="lots", REDIS_URL="http://r"
        )
        assert len(lines) == 3
        assert any(
            line.startswith("configuration error: DATABASE_URL must be a PostgreSQL URL") for line in lines
        )
        assert any(line.startswith("configuration error: DB_POOL_SIZE") for line in lines)
        assert any("REDIS_URL must start with redis://" in line for line in lines)

    @pytest.mark.parametrize(
        ("secret", "problem"),
        [
            ("", "is missing"),
            ("short", "too short"),
            ("a" * 40, "low-entropy"),
            (config.DEV_SECRET_KEY, "well-known"),
        ],
    )
    def test_production_refuses_weak_secret_key(self, monkeypatch, capsys, secret, problem):
        lines = load_with(
            monkeypatch,
            capsys,
            DATABASE_URL="postgresql://u@h/d",
            ENVIRONMENT="production",
            SECRET_KEY=secret,
        )
        assert (
            len(lines) == 1 and lines[0].startswith("configuration error: SECRET_KEY") and problem in lines[0]
        )

    def test_development_accepts_missing_secret(self, monkeypatch):
        monkeypatch.setenv("DATABASE_URL", "postgres://u:p@h:5433/d")
        monkeypatch.delenv("SECRET_KEY", raising=False)
        monkeypatch.delenv("ENVIRONMENT", raising=False)
        settings = CommonSettings()
        assert settings.database_url == "postgresql+asyncpg://u:p@h:5433/d"
        assert settings.secret_key == config.DEV_SECRET_KEY


class TestServiceDatabaseUrl:
    def test_each_service_gets_its_own_role(self):
        settings = CommonSettings(database_url="postgresql://admin:pw@db:5432/app", secret_key="k" * 40)
        urls = {s: config.service_database_url(settings, s) for s in config.SERVICES}
        users = {s: u.split("//")[1].split(":")[0] for s, u in urls.items()}
        assert users == {s: f"vellarys_{s}" for s in config.SERVICES}
        assert len({config.role_password(settings, s) for s in config.SERVICES}) == len(config.SERVICES)
        assert all("admin" not in u and "@db:5432/app" in u for u in urls.values())

    def test_explicit_override_wins(self):
        settings = CommonSettings(database_url="postgresql://admin@db/app")
        assert (
            config.service_database_url(settings, "ai", "postgres://me@x/y") == "postgresql+asyncpg://me@x/y"
        )


def test_service_refuses_to_start_with_bad_configuration():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update(ENVIRONMENT="production", TENANT_PORT="99999")
    result = subprocess.run(
        [sys.executable, "-m", "tenant"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "configuration error: DATABASE_URL is required but not set" in lines
    assert any(line.startswith("configuration error: TENANT_PORT") for line in lines)
    assert "configuration error: SECRET_KEY is missing (a strong key is required in production)" in lines
    assert len(lines) == 3
