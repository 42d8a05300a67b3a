"""The whole stack on one machine: ``make run`` → ``python -m kit.stack run``.

Postgres (``DATABASE_URL``, or a local cluster kept under ``.data/pg``), roles and schemas,
migrations, the superadmin seed, then the five services as supervised processes.

    python -m kit.stack run       # everything, until Ctrl-C / SIGTERM
    python -m kit.stack migrate   # everything but the services
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from kit import config, dbadmin, migrate
from kit.config import CommonSettings, Environment
from kit.pgcluster import LocalCluster
from kit.service import migrations_dir
from kit.supervisor import ProcessSpec, Supervisor

SERVICES_IN_START_ORDER = ("tenant", "conversation", "ai", "notify", "gateway")
LOCAL_DATABASE = "vellarys"


def say(message: str) -> None:
    # The stack's own voice on the operator's terminal; services log JSON through logging.
    sys.stdout.write(f"stack | {message}\n")
    sys.stdout.flush()


def fail(message: str) -> SystemExit:
    sys.stderr.write(f"stack | error: {message}\n")
    return SystemExit(2)


def data_dir() -> Path:
    return Path(os.environ.get("VELLARYS_DATA_DIR", ".data")).resolve()


def secret_key(environment: Environment) -> str:
    """Production must bring its own strong key; development keeps a generated one in .data."""
    given = os.environ.get("SECRET_KEY", "")
    if environment is Environment.PRODUCTION:
        problem = config.secret_key_problem(given)
        if problem:
            raise fail(f"SECRET_KEY {problem}: production refuses to start without a strong key")
        return given
    if given:
        return given
    path = data_dir() / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
        say(f"generated a development SECRET_KEY in {path}")
    return path.read_text().strip()


async def _ensure_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(dbadmin.asyncpg_dsn(server_url), timeout=10)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def database_url(cluster: LocalCluster | None) -> str:
    given = os.environ.get("DATABASE_URL")
    if given:
        return given
    assert cluster is not None
    say(f"starting the local Postgres in {cluster.data_dir} (no DATABASE_URL given)")
    server = cluster.start()
    asyncio.run(_ensure_database(server, LOCAL_DATABASE))
    return make_url(server).set(database=LOCAL_DATABASE).render_as_string(hide_password=False)


def prepare(settings: CommonSettings) -> None:
    asyncio.run(dbadmin.bootstrap(settings))
    for service in config.SERVICES:
        spec = importlib.util.find_spec(service)
        if spec is None or spec.origin is None:
            raise fail(f"service package {service!r} is not installed (run make run again)")
        migrate.upgrade(migrations_dir(spec.origin), config.service_database_url(settings, service), service)
    say("database ready: roles, schemas and migrations of " + ", ".join(config.SERVICES))


def seed(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "tenant", "seed"], env=env, check=False)
    if result.returncode != 0:
        raise fail("seeding the superadmin failed (see above)")


def child_env(settings: CommonSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key,
        ENVIRONMENT=settings.environment.value,
        PYTHONUNBUFFERED="1",
    )
    return env


def print_urls(settings: CommonSettings, env: dict[str, str]) -> None:
    port = env.get("GATEWAY_PORT", str(config.DEFAULT_PORTS["gateway"]))
    base = f"http://127.0.0.1:{port}"
    db = make_url(settings.database_url)
    lines = [
        f"gateway      {base}",
        f"API docs     {base}/docs",
        f"health       {base}/api/health/detailed",
        *(f"{name:<12} grpc://{settings.service_addr(name)}" for name in config.SERVICES),
        f"postgres     {db.host}:{db.port}/{db.database}",
        f"redis        {'shared (REDIS_URL)' if settings.redis_url else 'none: in-process fallbacks'}",
    ]
    for line in lines:
        say(line)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command not in {"run", "migrate"}:
        print("usage: python -m kit.stack [run|migrate]", file=sys.stderr)
        return 2
    try:
        environment = Environment(os.environ.get("ENVIRONMENT", "development"))
    except ValueError:
        raise fail(f"ENVIRONMENT must be one of {', '.join(e.value for e in Environment)}") from None
    key = secret_key(environment)
    cluster = None if os.environ.get("DATABASE_URL") else LocalCluster(data_dir() / "pg")
    try:
        url = database_url(cluster)
        settings = config.load(CommonSettings, database_url=url, secret_key=key)
        prepare(settings)
        env = child_env(settings)
        seed(env)
        if command == "migrate":
            return 0
        specs = [ProcessSpec(name, [sys.executable, "-m", name], env=env) for name in SERVICES_IN_START_ORDER]
        print_urls(settings, env)
        asyncio.run(Supervisor(specs, grace=settings.grpc_grace_seconds + 5).run())
    finally:
        if cluster is not None and cluster.running():
            say(f"stopping the local Postgres (data kept in {cluster.data_dir})")
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
