"""Container health check for Docker Compose (Kubernetes uses its native gRPC/HTTP probes).

    python /app/healthcheck.py grpc 127.0.0.1:50051      # standard grpc.health.v1 Check, "" service
    python /app/healthcheck.py http http://127.0.0.1:8000/api/health

Exit 0 when SERVING / HTTP 2xx, 1 otherwise. Only grpcio, grpcio-health-checking and the standard
library, so it runs in the slim runtime image without importing any service code.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 2.0


def check_grpc(target: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}", file=sys.stderr)
            return False
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{target}: {status}")
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def check_http(url: str) -> bool:
    if not url.startswith(("http://", "https://")):
        print(f"{url}: not an http(s) URL", file=sys.stderr)
        return False
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
            print(f"{url}: {response.status}")
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return False


def main(argv: list[str]) -> int:
    checks = {"grpc": check_grpc, "http": check_http}
    if len(argv) != 2 or argv[0] not in checks:
        print("usage: healthcheck.py grpc HOST:PORT | http URL", file=sys.stderr)
        return 2
    return 0 if checks[argv[0]](argv[1]) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
