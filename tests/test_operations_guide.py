"""deploy/OPERATIONS.md cannot rot silently.

- Every shell block is followed by a `Tested by:` line, and every reference names a test that exists.
- The onboarding section's commands are run as written (a tiny interpreter for the curl/jq subset the
  guide uses) against the real gateway and services, on a database of their own so the runbook's
  slug `imobiliaria-xyz` is free.
- Every other curl names a real route and method, with a JSON body the route accepts; every `make`
  target, `python -m` module and kubectl object the guide names exists.
- Rotating SECRET_KEY with SECRET_KEY_PREVIOUS keeps stored provider secrets readable.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import secrets
import shlex
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

import tenant
from kit import config, db, dbadmin, migrate, rpc
from kit.config import CommonSettings
from kit.context import CallContext
from kit.service import migrations_dir
from kit.testing import TEST_SECRET_KEY, settings_for_tests
from tenant.config import Settings as TenantSettings
from tenant.server import build as build_tenant
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "deploy/OPERATIONS.md"
ONBOARDING = "## 4. Onboarding a tenant"
BLOCK = re.compile(r"^```sh\n(.*?)^```\n", re.S | re.M)
TESTED_BY = re.compile(r"^Tested by: (.+)$", re.M)
REFERENCE = re.compile(r"`([\w./-]+\.py)::([\w:]+)`")


def guide() -> str:
    return GUIDE.read_text()


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def commands(block: str) -> Iterator[str]:
    """Logical lines of a shell block: continuations joined, comments dropped, heredocs kept whole."""
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if "<<'EOF'" in line:
            body = []
            while lines[i] != "EOF":
                body.append(lines[i])
                i += 1
            i += 1
            yield line + "\n" + "\n".join(body) + "\n"
            continue
        while line.endswith("\\"):
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        line = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
        if line.strip():
            yield line.strip()


# --- the references --------------------------------------------------------------------------


def test_every_block_says_what_tests_it_and_every_reference_exists() -> None:
    text = guide()
    for match in BLOCK.finditer(text):
        after = text[match.end() :].lstrip("\n").split("\n", 1)[0]
        assert after.startswith("Tested by: "), f"no `Tested by:` after the block:\n{match.group(1)}"
    references = [r for line in TESTED_BY.findall(text) for r in REFERENCE.findall(line)]
    assert len(references) >= 20, "the guide's references were not found: did the format change?"
    for path, name in references:
        assert (ROOT / path).is_file(), f"Tested by: {path} does not exist"
        assert test_exists(ROOT / path, name.split("::")), f"Tested by: {path}::{name} does not exist"


def test_exists(path: Path, names: list[str]) -> bool:
    body: list[ast.stmt] = ast.parse(path.read_text()).body
    for name in names[:-1]:
        found = [n for n in body if isinstance(n, ast.ClassDef) and n.name == name]
        if not found:
            return False
        body = found[0].body
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return any(isinstance(n, functions) and n.name == names[-1] and n.name.startswith("test") for n in body)


test_exists.__test__ = False  # type: ignore[attr-defined]


# --- the onboarding, run as written ------------------------------------------------------------


@dataclass
class Shell:
    """Just enough of sh + curl + jq for the guide: VAR=$(curl … | jq -r .path), curl, heredocs."""

    http: httpx.AsyncClient
    env: dict[str, str]
    pinned: frozenset[str]
    files: dict[str, str] = field(default_factory=dict)
    responses: list[tuple[str, httpx.Response]] = field(default_factory=list)

    def expand(self, word: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.env[m.group(1)], word)

    async def run(self, line: str) -> None:
        if line.startswith("cat > "):
            head, body = line.split("\n", 1)
            self.files[head.split()[2]] = body
            return
        assignment = re.fullmatch(r"(?:export )?(\w+)=\$\((curl .*) \| jq -r (\.[\w.]+)\)", line, re.S)
        if assignment:
            name, curl, path = assignment.groups()
            value: Any = (await self.curl(curl)).json()
            for key in path.strip(".").split("."):
                value = value[key]
            self.env[name] = str(value)
            return
        plain = re.fullmatch(r"(?:export )?(\w+)=(\S+)", line)
        if plain:
            if plain.group(1) not in self.pinned:
                self.env[plain.group(1)] = self.expand(plain.group(2))
            return
        assert line.startswith("curl "), f"the guide's onboarding uses a command this test cannot run: {line}"
        await self.curl(line.split(" | jq")[0])

    async def curl(self, line: str) -> httpx.Response:
        words = [self.expand(w) for w in shlex.split(line)[1:]]
        method, url, headers, data, files = "", "", {}, None, {}
        while words:
            word = words.pop(0)
            if word in ("-X", "--request"):
                method = words.pop(0)
            elif word in ("-H", "--header"):
                key, value = words.pop(0).split(":", 1)
                headers[key.strip()] = value.strip()
            elif word in ("-d", "--data"):
                data = words.pop(0)
            elif word in ("-F", "--form"):
                key, value = words.pop(0).split("=", 1)
                files[key] = (value[1:], self.files[value[1:]].encode(), "text/csv")
            elif word.startswith("-"):
                assert set(word[1:]) <= set("sSf"), f"unsupported curl option {word}"
            else:
                url = word
        method = method or ("POST" if data is not None or files else "GET")
        response = await self.http.request(method, url, headers=headers, content=data, files=files or None)
        assert response.status_code < 400, f"{line}\n→ {response.status_code} {response.text}"  # curl -f
        self.responses.append((f"{method} {url}", response))
        return response


@pytest.fixture(scope="module")
def database_url(postgres_server: str) -> Iterator[str]:
    """A database of this module's own: the runbook's slug is free whatever ran before."""
    name = f"vellarys_ops_{secrets.token_hex(4)}"
    asyncio.run(_admin(postgres_server, f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(dbadmin.bootstrap(settings_for_tests(CommonSettings, url)))
    yield url
    asyncio.run(_admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dbadmin.asyncpg_dsn(url), timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def migrated(database_url: str) -> Callable[[str, str], str]:
    done: dict[str, str] = {}
    settings = settings_for_tests(CommonSettings, database_url)

    def _migrate(service: str, package_file: str) -> str:
        if service not in done:
            url = config.service_database_url(settings, service)
            migrate.upgrade(migrations_dir(package_file), url, service)
            done[service] = url
        return done[service]

    return _migrate


async def test_onboarding_as_written(gateway: httpx.AsyncClient, superadmin: tuple[str, str]) -> None:
    email, password = superadmin
    env = {"VELLARYS": "", "SUPERADMIN_EMAIL": email, "SUPERADMIN_PASSWORD": password}
    shell = Shell(gateway, env, frozenset(env))
    for block in BLOCK.findall(section(guide(), ONBOARDING)):
        for line in commands(block):
            await shell.run(line)
    by_call = {call: response.json() for call, response in shell.responses}
    created = by_call["POST /api/v1/admin/tenants"]
    assert (created["name"], created["slug"], created["niche_id"]) == (
        "Imobiliária XYZ",
        "imobiliaria-xyz",
        1,
    )
    channel = by_call["POST /api/v1/settings/channels"]
    assert channel["provider"] == "zapi" and channel["webhook_url"] == shell.env["WEBHOOK_URL"]
    assert "/api/v1/webhook/zapi/" in channel["webhook_url"] and "••••" in str(channel["masked_secrets"])
    assert by_call[f"POST {shell.env['WEBHOOK_URL']}"] == {"status": "ok", "test": True}
    assert by_call["PUT /api/v1/settings/ai"]["version"] == 1
    sellers = [r.json() for c, r in shell.responses if c == "POST /api/v1/users"]
    assert [s["user"]["role"] for s in sellers] == ["seller", "seller"]
    report = by_call["POST /api/v1/products/import"]
    assert (report["applied"], report["created"], report["rejected"]) == (True, 2, 0)
    simulated = by_call["POST /api/v1/simulator/messages"]
    assert simulated["reply"] and simulated["outcome"] in {"ok", "offline"}
    users = await gateway.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {shell.env['ADMIN_TOKEN']}"}
    )
    assert users.json()["total"] == 3  # the tenant admin and two sellers, all in the new tenant


# --- every other command names something real ---------------------------------------------------


def curls(text: str) -> Iterator[tuple[str, str, str | None]]:
    """(method, path, body) of every curl in the guide, variables left as they are."""
    for block in BLOCK.findall(text):
        for line in commands(block):
            found = re.search(r"curl .*", line, re.S)
            if not found:
                continue
            words = shlex.split(found.group(0).split(" | ")[0].rstrip(")"))[1:]
            method, url, body = "", "", None
            while words:
                word = words.pop(0)
                if word in ("-X", "-H", "-d", "-F"):
                    value = words.pop(0)
                    method = value if word == "-X" else method
                    body = value if word == "-d" else body
                    method = method or ("POST" if word in ("-d", "-F") else "")
                elif not word.startswith("-"):
                    url = word
            path = re.sub(r"^(\$VELLARYS|\$\{VELLARYS\}|https?://[^/]+)", "", url).split("?")[0]
            yield method or "GET", path, body


def route_for(spec: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for template, operations in spec["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(template))
        if re.fullmatch(pattern, re.sub(r"\$\{?\w+\}?", "x", path)) and method.lower() in operations:
            return operations[method.lower()]
    return None


async def test_every_curl_names_a_real_route_with_a_valid_body(gateway: httpx.AsyncClient) -> None:
    spec = (await gateway.get("/openapi.json")).json()
    seen = 0
    for method, path, body in curls(guide()):
        if path in ("/metrics", "$WEBHOOK_URL"):  # not in the OpenAPI document; run above or scraped
            continue
        operation = route_for(spec, method, path)
        assert operation is not None, f"the guide calls {method} {path}: no such route"
        seen += 1
        if body is None or "$" in body or "requestBody" not in operation:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.validate(json.loads(body), {**schema, "components": spec["components"]})
    assert seen >= 20


def test_make_targets_and_python_modules_exist() -> None:
    text = "\n".join(BLOCK.findall(guide()))
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^make (\w[\w-]*)", text, re.M))
    assert {"run", "backup", "restore", "migrate"} <= targets
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target}: no such target"
    import importlib.util

    for module in set(re.findall(r"python -m ([\w.]+)", text)):
        assert importlib.util.find_spec(module) is not None, f"python -m {module}: no such module"
    for script in set(re.findall(r"python (deploy/[\w./]+\.py)", text)):
        assert (ROOT / script).is_file(), script


def test_kubectl_commands_name_real_objects() -> None:
    kubectl = Path(sys.executable).parent / "kubectl"
    rendered = subprocess.run(
        [str(kubectl), "kustomize", str(ROOT / "deploy/k8s/overlays/prod")],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    objects = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(rendered) if o}
    names = {"deploy": "Deployment", "job": "Job", "hpa": "HorizontalPodAutoscaler"}
    text = "\n".join(BLOCK.findall(guide()))
    lines = [line for block in BLOCK.findall(guide()) for line in commands(block) if "kubectl" in line]
    assert len(lines) >= 6
    for namespace in re.findall(r"kubectl -n (\S+)", text):
        assert ("Namespace", namespace) in objects
    for kind, name in re.findall(r"\s(deploy|job|hpa)/([a-z][\w-]*)(?=\s|$)", text, re.M):
        assert (names[kind], name) in objects, f"{kind}/{name} is not in the prod overlay"
    for path in re.findall(r"(?:-k|kustomize) (deploy/\S+)", text):
        assert (ROOT / path / "kustomization.yaml").is_file(), path
    secret = yaml.safe_load((ROOT / "deploy/k8s/secret.example.yaml").read_text())
    assert f"secret generic {secret['metadata']['name']}" in text


# --- emergencies: SECRET_KEY rotation ------------------------------------------------------------


async def test_secret_key_rotation_keeps_stored_secrets_readable(
    servers: dict[str, Any],
    migrated: Callable[[str, str], str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = rpc.make_channel(f"127.0.0.1:{servers['tenant'].port}")
    stub = tenant_pb2_grpc.TenantServiceStub(old)
    root = CallContext(actor_id=str(uuid.uuid4()), role="superadmin").metadata()
    slug = f"rot-{uuid.uuid4().hex[:8]}"
    tid = (
        await stub.CreateTenant(pb.CreateTenantRequest(name="Rotação", slug=slug, niche_id=1), metadata=root)
    ).tenant.id
    admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
    created = await stub.CreateChannel(
        pb.CreateChannelRequest(
            tenant_id=tid, provider=pb.PROVIDER_ZAPI, external_id=f"inst-{uuid.uuid4().hex[:8]}",
            secrets={"token": "zapi-token-0123456789"},
        ),
        metadata=admin,
    )  # fmt: skip
    await old.close()

    async def masked(previous: str) -> dict[str, str]:
        new_key = secrets.token_urlsafe(48)  # a fresh key each time: the tenant caches its key box
        monkeypatch.setenv("SECRET_KEY_PREVIOUS", previous)
        engine = db.create_engine(
            migrated("tenant", tenant.__file__), pool_size=1, max_overflow=0, application_name="rot"
        )
        settings = settings_for_tests(TenantSettings, database_url).model_copy(update={"secret_key": new_key})
        server = build_tenant(settings, engine, port=0)
        await server.start()
        channel = rpc.make_channel(f"127.0.0.1:{server.port}")
        try:
            reply = await tenant_pb2_grpc.TenantServiceStub(channel).GetChannel(
                pb.GetChannelRequest(tenant_id=tid, channel_id=created.channel.id), metadata=admin
            )
            return dict(reply.channel.masked_secrets)
        finally:
            await channel.close()
            await server.stop(0)
            await engine.dispose()

    assert await masked(TEST_SECRET_KEY) == {"token": "••••6789"}
    with pytest.raises(grpc.aio.AioRpcError):  # without the old key, stored secrets are unreadable
        await masked("")
