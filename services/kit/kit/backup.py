"""Logical backups: ``make backup`` / ``make restore FILE=…``.

    python -m kit.backup dump [--dir backups]     # whole database and the core tables, timestamped
    python -m kit.backup restore FILE             # a whole-database or a core-tables dump

Whole-database dumps (pg_dump custom format) restore over an existing database (objects are
dropped and recreated) or into an empty one (roles are bootstrapped first). Core dumps hold the
runbook's core tables — tenants, leads, messages — as data only, and restore into a freshly
migrated database (``make migrate``), for when the rest must be rebuilt from configuration.
``DATABASE_URL`` selects the server; without it the local cluster of ``make run`` is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kit import config, dbadmin
from kit.config import CommonSettings
from kit.pgcluster import LocalCluster, find_bindir

# The runbook's core tables, plus conversations: every message references one, so a data-only
# restore of messages without them would break referential integrity.
CORE_TABLES = ("tenant.tenants", "conversation.leads", "conversation.conversations", "conversation.messages")


def _tool(name: str) -> str:
    return str(find_bindir() / name)


def _dsn(url: str) -> str:
    return dbadmin.asyncpg_dsn(url)


def dump(url: str, directory: Path, *, stamp: str | None = None) -> tuple[Path, Path]:
    """Write the whole-database dump and the core-tables dump; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    full = directory / f"vellarys-full-{stamp}.dump"
    core = directory / f"vellarys-core-{stamp}.dump"
    base = [_tool("pg_dump"), "--format=custom", f"--dbname={_dsn(url)}"]
    subprocess.run([*base, f"--file={full}"], check=True)
    tables = [arg for table in CORE_TABLES for arg in ("--table", table)]
    subprocess.run([*base, "--data-only", *tables, f"--file={core}"], check=True)
    for path in (full, core):
        path.chmod(0o600)  # a dump holds leads' personal data
    return full, core


def is_full_dump(path: Path) -> bool:
    listing = subprocess.run(
        [_tool("pg_restore"), "--list", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return any(" SCHEMA " in line for line in listing.splitlines() if not line.startswith(";"))


def restore(url: str, path: Path, settings: CommonSettings) -> str:
    """Restore `path` into the database at `url`; returns "full" or "core"."""
    if not path.is_file():
        raise FileNotFoundError(f"no such backup: {path}")
    full = is_full_dump(path)
    if full:
        asyncio.run(dbadmin.bootstrap(settings))  # the roles that own the schemas must exist
        flags = ["--clean", "--if-exists"]
    else:
        flags = ["--data-only"]
    subprocess.run(
        [
            _tool("pg_restore"),
            *flags,
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={_dsn(url)}",
            str(path),
        ],
        check=True,
    )
    return "full" if full else "core"


@contextmanager
def database() -> Iterator[str]:
    """DATABASE_URL, or the local cluster of ``make run`` (started for the occasion if it is down)."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield config.normalise_database_url(given)
        return
    from kit.stack import LOCAL_DATABASE, data_dir

    cluster = LocalCluster(data_dir() / "pg")
    was_running = cluster.running()
    server = cluster.start()
    try:
        yield server.rsplit("/", 1)[0] + f"/{LOCAL_DATABASE}"
    finally:
        if not was_running:
            cluster.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit.backup")
    sub = parser.add_subparsers(dest="command", required=True)
    dump_cmd = sub.add_parser("dump")
    dump_cmd.add_argument("--dir", type=Path, default=Path("backups"))
    restore_cmd = sub.add_parser("restore")
    restore_cmd.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    with database() as url:
        if args.command == "dump":
            for path in dump(url, args.dir):
                print(f"backup written: {path}")
            return 0
        from kit.stack import secret_key

        environment = config.Environment(os.environ.get("ENVIRONMENT", "development"))
        settings = config.load(CommonSettings, database_url=url, secret_key=secret_key(environment))
        kind = restore(url, args.file, settings)
        print(f"restored {kind} backup {args.file}")
        return 0


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
    except subprocess.CalledProcessError as error:
        print(f"error: {Path(error.cmd[0]).name} failed with exit code {error.returncode}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
