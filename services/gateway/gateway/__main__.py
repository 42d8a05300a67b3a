from __future__ import annotations

import sys

import uvicorn

from gateway import httpserver
from gateway.app import create_app
from gateway.config import Settings
from kit import config, errortracking, logs, rpc, runtime, telemetry


def main() -> int:
    if sys.argv[1:] not in ([], ["serve"]):
        print("usage: python -m gateway [serve]", file=sys.stderr)
        return 2
    settings = config.load(Settings)
    rpc.configure_internal_auth(settings.secret_key)
    telemetry.configure("gateway")
    logs.configure("gateway", settings.log_level, settings.log_format)
    errortracking.configure("gateway", settings.sentry_dsn, settings.environment.value)
    app = create_app(settings)
    runtime.settle_heap()
    server = uvicorn.Server(
        httpserver.config(
            app,
            host=settings.gateway_host,
            port=settings.gateway_port,
            timeout_graceful_shutdown=int(settings.grpc_grace_seconds),
        )
    )
    server.run()
    telemetry.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
