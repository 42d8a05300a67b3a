"""Alembic, one tree per service, with the version table inside the service's own schema."""

from __future__ import annotations

import asyncio
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, url: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    # Passed as attributes, not options: ConfigParser would choke on '%' in passwords.
    cfg.attributes["url"] = url
    cfg.attributes["schema"] = schema
    return cfg


def sibling(migration: str, name: str) -> ModuleType:
    """Another migration of the same tree, loaded as a module (migration files are not importable by
    name): a downgrade puts back what an earlier one created. `migration` is the caller's __file__."""
    path = Path(migration).with_name(name)
    service = path.parent.parent.parent.name  # services/<service>/migrations/versions/<name>
    spec = importlib.util.spec_from_file_location(f"migration_{service}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade(migrations_dir: Path, url: str, schema: str, revision: str = "head") -> None:
    """Migrate to `revision`. Runs in its own thread: the env starts an event loop of its own,
    which must not meet the caller's (tests and the stack call this from async code)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, alembic_config(migrations_dir, url, schema), revision).result()


def _run(connection: Connection, metadata: MetaData, schema: str) -> None:
    connection.execute(text(f'SET search_path TO "{schema}"'))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=False,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData) -> None:
    """The whole body of every service's ``migrations/env.py``."""
    cfg = context.config
    url = cfg.attributes["url"]
    schema = cfg.attributes["schema"]

    async def _main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(_run, metadata, schema)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(_main())
