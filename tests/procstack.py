"""Real service processes (``python -m <svc>``) on one machine, for the replica and metrics tests.

One fresh database (bootstrapped and migrated here, as ``make run`` does), fakes of OpenAI and the
WhatsApp providers in the test process, and any number of replicas of a service on their own ports.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kit import config, rpc
from kit.config import CommonSettings
from kit.context import CallContext
from kit.ports import free_port
from kit.testing import TEST_SECRET_KEY
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

ROOT = Path(__file__).resolve().parent.parent


def prepare_database(database_url: str) -> None:
    """Roles, schemas and every service's migrations, the way `make run` does it."""
    from kit import stack

    stack.prepare(config.load(CommonSettings, database_url=database_url, secret_key=TEST_SECRET_KEY))


@dataclass
class Proc:
    name: str
    port: int
    metrics_port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup — a crashed pod."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Processes:
    database_url: str
    workdir: Path
    base_env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def start(self, service: str, port: int = 0, **env: str) -> Proc:
        port, metrics_port = port or free_port(), free_port()
        variables = {
            **self.base_env,
            f"{service.upper()}_PORT": str(port),
            "METRICS_PORT": str(metrics_port),
            **env,
        }
        log = self.workdir / f"{service}-{port}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", service], cwd=ROOT, env=variables,
            stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        proc = Proc(service, port, metrics_port, popen, log)
        self.procs.append(proc)
        return proc

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            while not self._ready(proc):
                if proc.popen.poll() is not None:
                    raise AssertionError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.output()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{proc.name} not ready in {timeout}s:\n{proc.output()}")
                time.sleep(0.2)

    @staticmethod
    def _ready(proc: Proc) -> bool:
        if proc.name == "gateway":
            try:
                return httpx.get(f"http://{proc.addr}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        async def check() -> str:
            channel = rpc.make_channel(proc.addr)
            try:
                return await rpc.check_health(channel, timeout=1)
            finally:
                await channel.close()

        try:
            return asyncio.run(check()) == "SERVING"
        except Exception:
            return False

    def stop(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.popen.kill()


@contextmanager
def processes(database_url: str, workdir: Path, **env: str) -> Iterator[Processes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERADMIN_", "ZAPI_", "OPENAI_"))}
    base.update(
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET_KEY,
        ENVIRONMENT="test",
        GRPC_GRACE_SECONDS="1",
        PYTHONUNBUFFERED="1",
        # A shared Redis keeps keys between runs: this run gets a keyspace of its own.
        REDIS_PREFIX=f"vellarys-test-{uuid.uuid4().hex[:8]}:",
        **env,
    )
    running = Processes(database_url, workdir, base)
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def internal_auth() -> Iterator[None]:
    """This test process speaks to the services as one of them (they check the SECRET_KEY proof)."""
    rpc.configure_internal_auth(TEST_SECRET_KEY)
    try:
        yield
    finally:
        rpc.configure_internal_auth(None)


async def create_tenant(tenant_addr: str, **limits: int) -> tuple[str, str]:
    """(tenant id, its Z-API channel's webhook path); replies are not debounced, for speed."""
    channel = rpc.make_channel(tenant_addr, deadline=10)
    stub = tpb_grpc.TenantServiceStub(channel)
    root = CallContext(actor_id=str(uuid.uuid4()), role="superadmin").metadata()
    try:
        created = await stub.CreateTenant(
            tpb.CreateTenantRequest(
                name="Imobiliária Réplicas", slug=f"r-{uuid.uuid4().hex[:10]}", niche_id=1,
                limits=tpb.PlanLimits(**limits),
            ),
            metadata=root,
        )  # fmt: skip
        tid = created.tenant.id
        admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
        made = await stub.CreateChannel(
            tpb.CreateChannelRequest(
                tenant_id=tid, provider=tpb.PROVIDER_ZAPI, name="zapi",
                external_id=f"inst-{uuid.uuid4().hex[:12]}",
                secrets={"token": "zapi-token-0002", "client_token": "zapi-client-0002"},
            ),
            metadata=admin,
        )  # fmt: skip
        await stub.UpdateAiSettings(
            tpb.UpdateAiSettingsRequest(
                tenant_id=tid, settings=tpb.AiSettings(debounce_seconds=0), fields=["debounce_seconds"]
            ),
            metadata=admin,
        )
        return tid, made.channel.webhook_path
    finally:
        await channel.close()


PAYLOAD = (ROOT / "services/gateway/tests/unit/providers/payloads/zapi_text.json").read_text()


def zapi_payload(phone: str, message_id: str, text: str = "Oi, ainda está disponível?") -> bytes:
    body = PAYLOAD.replace("3EB0C767D71D9A0E3A1F01", message_id).replace("5541991234567", phone)
    body = body.replace("Oi, o sobrado do Água Verde ainda está à venda?", text)
    return body.replace("1767016800000", str(int(time.time() * 1000))).encode()


def post_webhook(client: httpx.Client, gateway: Proc, path: str, body: bytes) -> int:
    """The HTTP status, or 0 when the gateway could not be reached (connection refused or reset)."""
    try:
        return client.post(
            f"http://{gateway.addr}{path}", content=body, headers={"content-type": "application/json"}
        ).status_code
    except httpx.HTTPError:
        return 0


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        time.sleep(0.2)
