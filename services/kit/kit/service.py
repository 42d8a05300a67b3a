"""The one entry point shape of every gRPC service: ``python -m <svc> [serve|migrate]``."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from kit import config, errortracking, logs, metrics, migrate, rpc, runtime, telemetry
from kit.config import CommonSettings

S = TypeVar("S", bound=CommonSettings)
log = logging.getLogger(__name__)


def migrations_dir(package_file: str) -> Path:
    """``services/<svc>/migrations``, next to the package directory."""
    return Path(package_file).resolve().parent.parent / "migrations"


def run(
    service: str,
    settings_cls: type[S],
    serve: Callable[[S], Coroutine[Any, Any, None]],
    package_file: str,
    argv: list[str] | None = None,
    commands: dict[str, Callable[[S], Coroutine[Any, Any, None]]] | None = None,
) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    available = {"serve", "migrate", *(commands or {})}
    if command not in available:
        print(f"usage: python -m {service} [{'|'.join(sorted(available))}]", file=sys.stderr)
        return 2
    settings = config.load(settings_cls)
    rpc.configure_internal_auth(settings.secret_key)
    telemetry.configure(service)
    logs.configure(service, settings.log_level, settings.log_format)
    errortracking.configure(service, settings.sentry_dsn, settings.environment.value)
    if command == "migrate":
        url = config.service_database_url(settings, service, own_url(settings, service))
        migrate.upgrade(migrations_dir(package_file), url, service)
        log.info("migrated schema %s to head", service)
        return 0
    runner = serve if command == "serve" else (commands or {})[command]
    if command == "serve":
        port = settings.metrics_port
        metrics.serve(
            config.DEFAULT_METRICS_PORTS.get(service, 0) if port is None else port, settings.metrics_host
        )
    install_uvloop()
    runtime.settle_heap()
    try:
        asyncio.run(runner(settings))
    except KeyboardInterrupt:
        pass
    finally:
        telemetry.shutdown()
    return 0


def own_url(settings: CommonSettings, service: str) -> str | None:
    """``<SERVICE>_DATABASE_URL``, when the operator gives the service's role URL explicitly."""
    value = getattr(settings, f"{service}_database_url", None)
    return str(value) if value else None


def install_uvloop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # uvloop is an optimisation, not a requirement
        pass
